using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>The transaction coordinator's APIs over the wire: state transitions, fencing and the admin views.</summary>
public sealed class TransactionHandlerTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public TransactionHandlerTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private static AddPartitionsToTxnRequest Add(string id, long producerId, short epoch, string topic, params int[] partitions) => new()
    {
        V3AndBelowTransactionalId = id,
        V3AndBelowProducerId = producerId,
        V3AndBelowProducerEpoch = epoch,
        V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [.. partitions] }],
    };

    [Fact]
    public async Task AddPartitionsEndTxnAndTheAdminViewsFollowTheTransaction()
    {
        const string topic = "txn-wire";
        await using var client = await _broker.ConnectAsync();
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(topic, 2), 7)).Topics[0].ErrorCode);
        var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = "wire-t", TransactionTimeoutMs = 30_000 }, 4);
        var (pid, epoch) = (init.ProducerId, init.ProducerEpoch);

        var added = await client.SendAsync<AddPartitionsToTxnResponse>(Add("wire-t", pid, epoch, topic, 0, 1), 3);
        Assert.All(added.ResultsByTopicV3AndBelow[0].ResultsByPartition, p => Assert.Equal((short)ErrorCode.None, p.PartitionErrorCode));
        var unknown = await client.SendAsync<AddPartitionsToTxnResponse>(Add("wire-t", pid, epoch, topic, 0, 9), 3);
        Assert.Equal([(short)ErrorCode.OperationNotAttempted, (short)ErrorCode.UnknownTopicOrPartition],
            unknown.ResultsByTopicV3AndBelow[0].ResultsByPartition.Select(p => p.PartitionErrorCode));
        var fenced = await client.SendAsync<AddPartitionsToTxnResponse>(Add("wire-t", pid, (short)(epoch - 1), topic, 0), 1);
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, fenced.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);
        var wrongId = await client.SendAsync<AddPartitionsToTxnResponse>(Add("wire-t", pid + 1000, epoch, topic, 0), 3);
        Assert.Equal((short)ErrorCode.InvalidProducerIdMapping, wrongId.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);

        var described = await client.SendAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = ["wire-t", "nobody"] }, 0);
        var state = described.TransactionStates[0];
        Assert.Equal("Ongoing", state.TransactionState);
        Assert.Equal(pid, state.ProducerId);
        Assert.Equal(30_000, state.TransactionTimeoutMs);
        Assert.Equal([0, 1], Assert.Single(state.Topics).Partitions);
        Assert.Equal((short)ErrorCode.TransactionalIdNotFound, described.TransactionStates[1].ErrorCode);

        var listed = await client.SendAsync<ListTransactionsResponse>(new ListTransactionsRequest { StateFilters = ["Ongoing", "Bogus"], ProducerIdFilters = [pid] }, 1);
        Assert.Equal("wire-t", Assert.Single(listed.TransactionStates).TransactionalId);
        Assert.Equal(["Bogus"], listed.UnknownStateFilters);

        var ended = await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "wire-t", ProducerId = pid, ProducerEpoch = epoch, Committed = false }, 5);
        Assert.Equal((short)ErrorCode.None, ended.ErrorCode);
        Assert.Equal(pid, ended.ProducerId);
        // A retried abort is answered the same; a commit of the aborted transaction is refused.
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "wire-t", ProducerId = pid, ProducerEpoch = epoch, Committed = false }, 3)).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidTxnState, (await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "wire-t", ProducerId = pid, ProducerEpoch = epoch, Committed = true }, 3)).ErrorCode);

        // The abort wrote one marker to each partition of the transaction.
        foreach (var partition in new[] { 0, 1 })
        {
            var latest = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets(topic, partition, -1), 7);
            Assert.Equal(1, latest.Topics[0].Partitions[0].Offset);
        }

        var after = await client.SendAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = ["wire-t"] }, 0);
        Assert.Equal("CompleteAbort", after.TransactionStates[0].TransactionState);
        Assert.Empty(after.TransactionStates[0].Topics);
    }
}
