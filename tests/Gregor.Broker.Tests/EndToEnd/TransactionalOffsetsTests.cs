using Confluent.Kafka;
using Gregor.Broker.Tests.Handlers;
using Gregor.Protocol;
using ErrorCode = Gregor.Protocol.ErrorCode;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// TxnOffsetCommit's offsets live in <c>__consumer_offsets</c> as a transactional batch until the
/// transaction's marker lands there: they survive a broker restart, and aborted ones never appear.
/// </summary>
public class TransactionalOffsetsTests
{
    private const string Topic = "txo-in";
    private const string Group = "txo-group";

    private static ProducerConfig TransactionalConfig(string bootstrap, string transactionalId)
    {
        var config = Clients.ProducerConfig(bootstrap);
        config.TransactionalId = transactionalId;
        config.TransactionTimeoutMs = 60_000;
        return config;
    }

    /// <summary>OffsetFetch v8 of partition 0, retried while the coordinator loads after a restart.</summary>
    private static async Task<OffsetFetchResponse.OffsetFetchResponsePartitions> FetchAsync(InProcessBroker broker, bool requireStable)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var client = await WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
            var response = await client.SendAsync<OffsetFetchResponse>(new OffsetFetchRequest
            {
                RequireStable = requireStable,
                Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup
                {
                    GroupId = Group,
                    MemberEpoch = -1,
                    Topics = [new OffsetFetchRequest.OffsetFetchRequestTopics { Name = Topic, PartitionIndexes = [0] }],
                }],
            }, 8);
            var group = Assert.Single(response.Groups);
            if (group.ErrorCode == (short)ErrorCode.CoordinatorLoadInProgress && attempt < 50)
            {
                await Task.Delay(100);
                continue;
            }

            Assert.Equal(0, group.ErrorCode);
            return Assert.Single(Assert.Single(group.Topics).Partitions);
        }
    }

    [Fact]
    public async Task OffsetsOfATransactionSurviveARestartBeforeTheCommitAndAbortedOnesNeverAppear()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, Topic, 1);
        using var consumer = new ConsumerBuilder<string, string>(Clients.ConsumerConfig(broker.BootstrapServers, Group)).Build();
        var groupMetadata = consumer.ConsumerGroupMetadata;
        using var producer = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txo")).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(20));

        producer.BeginTransaction();
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(Topic, 0, 5)], groupMetadata, TimeSpan.FromSeconds(20));

        // Pending: not committed yet, and require_stable says so.
        Assert.Equal(-1, (await FetchAsync(broker, requireStable: false)).CommittedOffset);
        Assert.Equal((short)ErrorCode.UnstableOffsetCommit, (await FetchAsync(broker, requireStable: true)).ErrorCode);

        // The offsets are in __consumer_offsets as an open transaction of the producer.
        var offsetsPartition = Gregor.Coordinator.GroupPartitioner.PartitionFor(Group, 50);
        var offsetsLog = broker.Server.LogManager.GetLog("__consumer_offsets", offsetsPartition)!;
        Assert.True(offsetsLog.FirstUnstableOffset >= 0);

        await broker.RestartAsync();

        // Replayed from the log: still pending after the restart, and the transaction still open.
        Assert.Equal((short)ErrorCode.UnstableOffsetCommit, (await FetchAsync(broker, requireStable: true)).ErrorCode);
        Assert.Equal(-1, (await FetchAsync(broker, requireStable: false)).CommittedOffset);

        producer.CommitTransaction(TimeSpan.FromSeconds(30));
        var committed = await FetchAsync(broker, requireStable: true);
        Assert.Equal(0, committed.ErrorCode);
        Assert.Equal(5, committed.CommittedOffset);
        offsetsLog = broker.Server.LogManager.GetLog("__consumer_offsets", offsetsPartition)!;
        Assert.Equal(-1, offsetsLog.FirstUnstableOffset);

        // An aborted transaction's offsets are dropped, before and after a restart. (A second
        // producer: librdkafka 2.16's SendOffsetsToTransaction did not return in a producer's
        // second transaction after the broker restart, before any request reached the broker.)
        using var second = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txo-2")).Build();
        second.InitTransactions(TimeSpan.FromSeconds(20));
        second.BeginTransaction();
        second.SendOffsetsToTransaction([new TopicPartitionOffset(Topic, 0, 9)], groupMetadata, TimeSpan.FromSeconds(20));
        Assert.Equal((short)ErrorCode.UnstableOffsetCommit, (await FetchAsync(broker, requireStable: true)).ErrorCode);
        second.AbortTransaction(TimeSpan.FromSeconds(30));
        Assert.Equal(5, (await FetchAsync(broker, requireStable: true)).CommittedOffset);

        await broker.RestartAsync();
        var replayed = await FetchAsync(broker, requireStable: true);
        Assert.Equal(0, replayed.ErrorCode);
        Assert.Equal(5, replayed.CommittedOffset);
    }
}
