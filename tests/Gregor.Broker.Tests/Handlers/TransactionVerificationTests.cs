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
}
