using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>KIP-890 part 1: the broker verifies that a transactional produce goes to a partition of the ongoing transaction.</summary>
public sealed class TransactionVerificationTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public TransactionVerificationTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private static async Task<short> ProduceAsync(WireClient client, string transactionalId, string topic, int partition, long pid, short epoch, int sequence, short version)
    {
        var batch = new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = epoch, BaseSequence = sequence, IsTransactional = true }
            .Append(1_700_000_000_000, null, "v"u8.ToArray())
            .Build();
        var request = Requests.Produce(topic, partition, batch);
        request.TransactionalId = transactionalId;
        var response = await client.SendAsync<ProduceResponse>(request, version);
        return response.Responses[0].PartitionResponses[0].ErrorCode;
    }

    [Fact]
    public async Task ATransactionalProduceToAPartitionOutsideTheTransactionIsRefusedAndVerifyOnlySaysWhichAreIn()
    {
        const string topic = "txn-verify";
        await using var client = await _broker.ConnectAsync();
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(topic, 2), 7)).Topics[0].ErrorCode);
        var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = "verify-t", TransactionTimeoutMs = 60_000 }, 4);
        var (pid, epoch) = (init.ProducerId, init.ProducerEpoch);
        var added = await client.SendAsync<AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = "verify-t",
            V3AndBelowProducerId = pid,
            V3AndBelowProducerEpoch = epoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [0] }],
        }, 3);
        Assert.Equal((short)ErrorCode.None, added.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);

        Assert.Equal((short)ErrorCode.None, await ProduceAsync(client, "verify-t", topic, 0, pid, epoch, 0, 9));
        // Partition 1 was never added: Kafka 4.0 answers INVALID_TXN_STATE up to Produce v10, TRANSACTION_ABORTABLE from v11.
        Assert.Equal((short)ErrorCode.InvalidTxnState, await ProduceAsync(client, "verify-t", topic, 1, pid, epoch, 0, 9));
        Assert.Equal((short)ErrorCode.TransactionAbortable, await ProduceAsync(client, "verify-t", topic, 1, pid, epoch, 0, 11));

        // Nothing was appended, so no open transaction holds partition 1's last stable offset.
        var log = _broker.Server.LogManager.GetLog(topic, 1)!;
        Assert.Equal(0, log.LogEndOffset);
        Assert.Equal(-1, log.FirstUnstableOffset);

        var verified = await client.SendAsync<AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            Transactions =
            [
                new AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction
                {
                    TransactionalId = "verify-t",
                    ProducerId = pid,
                    ProducerEpoch = epoch,
                    VerifyOnly = true,
                    Topics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [0, 1] }],
                },
            ],
        }, 5);
        var result = Assert.Single(verified.ResultsByTransaction);
        Assert.Equal([(short)ErrorCode.None, (short)ErrorCode.TransactionAbortable],
            result.TopicResults[0].ResultsByPartition.Select(p => p.PartitionErrorCode));

        // Verification added nothing: the transaction still holds partition 0 only.
        var described = await client.SendAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = ["verify-t"] }, 0);
        Assert.Equal([0], Assert.Single(described.TransactionStates[0].Topics).Partitions);
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "verify-t", ProducerId = pid, ProducerEpoch = epoch, Committed = false }, 3)).ErrorCode);
    }

    private static TxnOffsetCommitRequest OffsetCommit(string transactionalId, long pid, short epoch, string group, string topic, long offset) => new()
    {
        TransactionalId = transactionalId,
        GroupId = group,
        ProducerId = pid,
        ProducerEpoch = epoch,
        Topics =
        [
            new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
            {
                Name = topic,
                Partitions = [new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = offset, CommittedMetadata = "" }],
            },
        ],
    };

    /// <summary>KIP-890 part 2: TxnOffsetCommit v5 adds the group's partition to the transaction itself; v4 needs AddOffsetsToTxn first.</summary>
    [Fact]
    public async Task TxnOffsetCommitV5AddsTheGroupToTheTransactionWhileV4NeedsAddOffsetsToTxn()
    {
        const string topic = "txn-v5";
        const string group = "txn-v5-group";
        await using var client = await _broker.ConnectAsync();
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(topic, 1), 7)).Topics[0].ErrorCode);
        for (var attempt = 0; ; attempt++)
        {
            var found = await client.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [group] }, 4);
            if (found.Coordinators[0].ErrorCode == (short)ErrorCode.None || attempt == 50)
            {
                Assert.Equal((short)ErrorCode.None, found.Coordinators[0].ErrorCode);
                break;
            }

            await Task.Delay(100);
        }

        var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = "v5-t", TransactionTimeoutMs = 60_000 }, 4);
        var (pid, epoch) = (init.ProducerId, init.ProducerEpoch);

        var v4 = await client.SendAsync<TxnOffsetCommitResponse>(OffsetCommit("v5-t", pid, epoch, group, topic, 7), 4);
        Assert.Equal((short)ErrorCode.InvalidTxnState, v4.Topics[0].Partitions[0].ErrorCode);

        var v5 = await client.SendAsync<TxnOffsetCommitResponse>(OffsetCommit("v5-t", pid, epoch, group, topic, 7), 5);
        Assert.Equal((short)ErrorCode.None, v5.Topics[0].Partitions[0].ErrorCode);
        var described = await client.SendAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = ["v5-t"] }, 0);
        Assert.Equal("Ongoing", described.TransactionStates[0].TransactionState);
        var offsetsTopic = Assert.Single(described.TransactionStates[0].Topics);
        Assert.Equal("__consumer_offsets", offsetsTopic.Topic);
        Assert.Equal([Gregor.Coordinator.GroupPartitioner.PartitionFor(group, 50)], offsetsTopic.Partitions);

        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "v5-t", ProducerId = pid, ProducerEpoch = epoch, Committed = true }, 3)).ErrorCode);
        var fetched = await client.SendAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            RequireStable = true,
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = group, MemberEpoch = -1, Topics = [new OffsetFetchRequest.OffsetFetchRequestTopics { Name = topic, PartitionIndexes = [0] }] }],
        }, 8);
        var partition = fetched.Groups[0].Topics[0].Partitions[0];
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal(7, partition.CommittedOffset);
    }
}
