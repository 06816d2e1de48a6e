using Confluent.Kafka;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;
using ErrorCode = Gregor.Protocol.ErrorCode;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>
/// The coordinators' checks as Kafka makes them: EndTxn of a transaction that never began,
/// TxnOffsetCommit without a member (v0–v2) while the group has members, and OffsetCommit outside
/// group management (generation -1) whatever member id it names.
/// </summary>
public sealed class CoordinatorChecksTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public CoordinatorChecksTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private string Bootstrap => _broker.Server.BootstrapServers;

    [Fact]
    public async Task EndTxnWithNothingAddedIsInvalidTxnState()
    {
        await using var client = await _broker.ConnectAsync();
        var init = await InitAsync(client, "empty-end-t");
        foreach (var committed in new[] { true, false })
        {
            var ended = await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "empty-end-t", ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, Committed = committed }, 3);
            Assert.Equal((short)ErrorCode.InvalidTxnState, ended.ErrorCode);
        }

        // The producer carries on: a transaction that did begin still commits.
        await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("empty-end", 1), 7);
        var added = await client.SendAsync<AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = "empty-end-t",
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "empty-end", Partitions = [0] }],
        }, 3);
        Assert.Equal((short)ErrorCode.None, added.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);
        var commit = await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = "empty-end-t", ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, Committed = true }, 3);
        Assert.Equal((short)ErrorCode.None, commit.ErrorCode);
    }

    /// <summary>TxnOffsetCommit v0–v2 carry no member: accepted while a Confluent.Kafka consumer is a member of the group.</summary>
    [Fact]
    public async Task TxnOffsetCommitWithoutMemberIsAcceptedWhileTheGroupHasMembers()
    {
        const string topic = "txn-members";
        const string group = "txn-members-group";
        await Clients.CreateTopicAsync(Bootstrap, topic, 1);
        var config = Clients.ConsumerConfig(Bootstrap, group);
        config.EnableAutoCommit = false;
        using var member = new ConsumerBuilder<Ignore, Ignore>(config).Build();
        member.Subscribe(topic);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (member.Assignment.Count == 0 && DateTime.UtcNow < deadline)
        {
            member.Consume(TimeSpan.FromMilliseconds(200));
        }

        Assert.NotEmpty(member.Assignment);

        await using var client = await _broker.ConnectAsync();
        for (short version = 0; version <= 2; version++)
        {
            var transactionalId = $"txn-members-t{version}";
            var init = await InitAsync(client, transactionalId);
            var addOffsets = await client.SendAsync<AddOffsetsToTxnResponse>(new AddOffsetsToTxnRequest
            {
                TransactionalId = transactionalId, ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, GroupId = group,
            }, 3);
            Assert.Equal((short)ErrorCode.None, addOffsets.ErrorCode);
            var response = await client.SendAsync<TxnOffsetCommitResponse>(new TxnOffsetCommitRequest
            {
                TransactionalId = transactionalId,
                GroupId = group,
                ProducerId = init.ProducerId,
                ProducerEpoch = init.ProducerEpoch,
                Topics =
                [
                    new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
                    {
                        Name = topic,
                        Partitions = [new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = 10 + version, CommittedMetadata = "" }],
                    },
                ],
            }, version);
            Assert.Equal((short)ErrorCode.None, response.Topics[0].Partitions[0].ErrorCode);
            var ended = await client.SendAsync<EndTxnResponse>(new EndTxnRequest { TransactionalId = transactionalId, ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, Committed = true }, 3);
            Assert.Equal((short)ErrorCode.None, ended.ErrorCode);
        }

        // The last commit's offset is the group's, as the member sees it.
        var committed = member.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10));
        Assert.Equal(12, committed[0].Offset.Value);
        member.Close();
    }

    /// <summary>
    /// A KIP-848 consumer that only assigns and commits (librdkafka with group.protocol=consumer
    /// sends its own member id with generation -1): a simple commit, accepted, creating the group.
    /// </summary>
    [Fact]
    public async Task AnAssignOnlyConsumerProtocolClientCommitsOffsets()
    {
        const string topic = "assign-commit";
        const string group = "assign-commit-group";
        await Clients.CreateTopicAsync(Bootstrap, topic, 2);
        var config = Clients.ConsumerConfig(Bootstrap, group);
        config.EnableAutoCommit = false;
        config.Set("group.protocol", "consumer");
        using (var consumer = new ConsumerBuilder<Ignore, Ignore>(config).Build())
        {
            consumer.Assign([new TopicPartitionOffset(topic, 0, 0), new TopicPartitionOffset(topic, 1, 0)]);
            consumer.Commit([new TopicPartitionOffset(topic, 0, 7), new TopicPartitionOffset(topic, 1, 9)]);
            var committed = consumer.Committed([new TopicPartition(topic, 0), new TopicPartition(topic, 1)], TimeSpan.FromSeconds(10));
            Assert.Equal([7L, 9L], committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));
        }

        // The same on the wire, with the generation rules for a group that does not exist.
        await using var client = await _broker.ConnectAsync();
        Assert.Equal(ErrorCode.None, await CommitAsync(client, "wire-simple", -1, "self-chosen-member", 9, topic));
        Assert.Equal(ErrorCode.GroupIdNotFound, await CommitAsync(client, "wire-missing-9", 3, "m", 9, topic));
        Assert.Equal(ErrorCode.IllegalGeneration, await CommitAsync(client, "wire-missing-8", 3, "m", 8, topic));

        // The simple group exists now: a commit outside group management is accepted again.
        Assert.Equal(ErrorCode.None, await CommitAsync(client, "wire-simple", -1, "another-member", 8, topic));
    }

    private static async Task<ErrorCode> CommitAsync(WireClient client, string group, int generation, string memberId, short version, string topic)
    {
        var response = await client.SendAsync<OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = generation,
            MemberId = memberId,
            RetentionTimeMs = -1,
            Topics =
            [
                new OffsetCommitRequest.OffsetCommitRequestTopic
                {
                    Name = topic,
                    Partitions = [new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = 3, CommittedLeaderEpoch = -1, CommittedMetadata = "" }],
                },
            ],
        }, version);
        return (ErrorCode)response.Topics[0].Partitions[0].ErrorCode;
    }

    private static async Task<InitProducerIdResponse> InitAsync(WireClient client, string transactionalId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = transactionalId, TransactionTimeoutMs = 60_000 }, 4);
            if (init.ErrorCode == (short)ErrorCode.None || DateTime.UtcNow > deadline)
            {
                Assert.Equal((short)ErrorCode.None, init.ErrorCode);
                return init;
            }

            await Task.Delay(100);
        }
    }
}
