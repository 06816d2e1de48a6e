using System.Text;
using Confluent.Kafka;
using Gregor.Broker.Client;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using Xunit;
using ErrorCode = Gregor.Protocol.ErrorCode;

namespace Gregor.Broker.Tests.Replication;

/// <summary>
/// Replication between three real brokers (issue 5 §4–5): real follower Fetch and
/// OffsetForLeaderEpoch over TCP, a real Confluent.Kafka producer with acks=all, and the ISR
/// changed through AlterPartition against the cluster's controller stand-in.
/// </summary>
[Collection("Replication")]
public sealed class ReplicationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task AcksAllRecordsAreOnEveryReplicaAtTheSameOffsets()
    {
        await using var cluster = await ReplicationCluster.StartAsync();
        cluster.CreateTopic("replicated", partitions: 3, replicationFactor: 3);

        var acked = new List<(int Partition, long Offset, string Value)>();
        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(cluster.BootstrapServers)).Build())
        {
            for (var i = 0; i < 60; i++)
            {
                var result = await producer.ProduceAsync(new TopicPartition("replicated", i % 3), new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
                Assert.Equal(PersistenceStatus.Persisted, result.Status);
                acked.Add((result.Partition.Value, result.Offset.Value, $"v{i}"));
            }
        }

        for (var partition = 0; partition < 3; partition++)
        {
            var expected = acked.Where(a => a.Partition == partition).OrderBy(a => a.Offset).ToList();
            Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), expected.Select(e => e.Offset));
            foreach (var nodeId in new[] { 1, 2, 3 })
            {
                var log = cluster[nodeId].Log("replicated", partition);
                await WaitUntilAsync(() => log.LogEndOffset == 20 && log.HighWatermark == 20, $"node {nodeId} partition {partition} LEO/HW 20 (is {log.LogEndOffset}/{log.HighWatermark})");
                var values = ReadValues(log, 0, 20);
                Assert.Equal(expected.Select(e => (e.Offset, e.Value)), values);
            }

            // Every batch keeps the leader's epoch on the followers too.
            var leaderEpochs = cluster[1].Log("replicated", partition).LeaderEpochCache.Epochs;
            Assert.Equal(leaderEpochs, cluster[2].Log("replicated", partition).LeaderEpochCache.Epochs);
            Assert.Equal(leaderEpochs, cluster[3].Log("replicated", partition).LeaderEpochCache.Epochs);
        }

        Assert.Empty(cluster.IsrChanges);
    }

    [Fact]
    public async Task StoppedFollowerLeavesTheIsrAfterTheLagTimeAndRejoinsAfterRestart()
    {
        await using var cluster = await ReplicationCluster.StartAsync();
        cluster.CreateTopic("isr", [[1, 2, 3]], new Dictionary<string, string>());
        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(cluster.BootstrapServers)).Build();
        await producer.ProduceAsync(new TopicPartition("isr", 0), new Message<string, string> { Value = "before" });

        await cluster.StopNodeAsync(3);

        // A follower is caught up while it has the leader's log end (Kafka's isCaughtUp), so the
        // leader must move on before node 3 starts to lag.
        await using var clients = new NodeClientPool("test");
        Assert.Equal((ErrorCode.None, 1L), await ProduceAsync(clients, cluster[1].Port, "isr", "while-down-0", acks: 1, timeoutMs: 5000));
        var started = DateTime.UtcNow;
        await WaitUntilAsync(() => cluster.Partition("isr", 0).Isr.SequenceEqual([1, 2]), "ISR shrinks to [1,2]");
        var elapsed = DateTime.UtcNow - started;
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(1500), $"The ISR shrank after {elapsed.TotalMilliseconds:0} ms, before replica.lag.time.max.ms (2000 ms).");
        Assert.Equal([1, 2], cluster[1].ReplicaManager.GetPartition("isr", 0)!.Isr);

        // With node 3 out of the ISR, acks=all completes on nodes 1 and 2.
        for (var i = 1; i < 5; i++)
        {
            var result = await producer.ProduceAsync(new TopicPartition("isr", 0), new Message<string, string> { Value = $"while-down-{i}" });
            Assert.Equal(i + 1, result.Offset.Value);
        }

        await cluster.StartNodeAsync(3);
        await WaitUntilAsync(() => cluster.Partition("isr", 0).Isr.Order().SequenceEqual([1, 2, 3]), "node 3 rejoins the ISR");
        var log = cluster[3].Log("isr", 0);
        Assert.Equal(6, log.LogEndOffset);
        Assert.Equal(["before", "while-down-0", "while-down-1", "while-down-2", "while-down-3", "while-down-4"], ReadValues(log, 0, 6).Select(v => v.Value));
    }

    [Fact]
    public async Task WithTwoOfThreeDownAcksAllFailsWithNotEnoughReplicas()
    {
        await using var cluster = await ReplicationCluster.StartAsync(overrides: new Dictionary<string, string> { ["replica.lag.time.max.ms"] = "1000" });
        cluster.CreateTopic("min-isr", [[1, 2, 3]], new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
        await using var clients = new NodeClientPool("test");
        var leader = cluster[1];

        var first = await ProduceAsync(clients, leader.Port, "min-isr", "acked", acks: -1, timeoutMs: 5000);
        Assert.Equal((ErrorCode.None, 0L), first);

        await cluster.StopNodeAsync(2, electNewLeaders: false);
        await cluster.StopNodeAsync(3, electNewLeaders: false);

        // While both followers are still in the ISR, an acks=all append waits for them: nothing
        // is reported acknowledged that was not replicated (it times out instead).
        var unreplicated = await ProduceAsync(clients, leader.Port, "min-isr", "unreplicated", acks: -1, timeoutMs: 300);
        Assert.Equal(ErrorCode.RequestTimedOut, unreplicated.Error);
        Assert.Equal(1, leader.Log("min-isr", 0).HighWatermark);

        await WaitUntilAsync(() => cluster.Partition("min-isr", 0).Isr.SequenceEqual([1]), "ISR shrinks to [1]");

        var refused = await ProduceAsync(clients, leader.Port, "min-isr", "refused", acks: -1, timeoutMs: 5000);
        Assert.Equal(ErrorCode.NotEnoughReplicas, refused.Error);
        Assert.Equal(2, leader.Log("min-isr", 0).LogEndOffset);

        // acks=1 still appends (Kafka checks min.insync.replicas only for acks=all).
        var acksOne = await ProduceAsync(clients, leader.Port, "min-isr", "acks-1", acks: 1, timeoutMs: 5000);
        Assert.Equal((ErrorCode.None, 2L), acksOne);
        Assert.Equal(3, leader.Log("min-isr", 0).HighWatermark);

        // And the same through Confluent.Kafka: the producer's acks=all fails, nothing reported as persisted.
        var config = Clients.ProducerConfig($"127.0.0.1:{leader.Port}");
        config.MessageTimeoutMs = 3000;
        using var producer = new ProducerBuilder<string, string>(config).Build();
        var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync(new TopicPartition("min-isr", 0), new Message<string, string> { Value = "client" }));
        Assert.NotEqual(PersistenceStatus.Persisted, error.DeliveryResult.Status);
        Assert.Contains(error.Error.Code, new[] { Confluent.Kafka.ErrorCode.NotEnoughReplicas, Confluent.Kafka.ErrorCode.Local_MsgTimedOut });
        Assert.Equal(3, leader.Log("min-isr", 0).LogEndOffset);
    }

    [Fact]
    public async Task AcksAllTimesOutWhileAnIsrFollowerIsSilent()
    {
        await using var cluster = await ReplicationCluster.StartAsync(overrides: new Dictionary<string, string> { ["replica.lag.time.max.ms"] = "30000" });
        cluster.CreateTopic("slow", [[1, 2]], new Dictionary<string, string>());
        await using var clients = new NodeClientPool("test");
        Assert.Equal((ErrorCode.None, 0L), await ProduceAsync(clients, cluster[1].Port, "slow", "a", acks: -1, timeoutMs: 5000));

        await cluster.StopNodeAsync(2, electNewLeaders: false);
        var timedOut = await ProduceAsync(clients, cluster[1].Port, "slow", "b", acks: -1, timeoutMs: 300);
        Assert.Equal(ErrorCode.RequestTimedOut, timedOut.Error);
        Assert.Equal(1, cluster[1].Log("slow", 0).HighWatermark);

        // acks=1 answers after the leader's append alone.
        Assert.Equal((ErrorCode.None, 2L), await ProduceAsync(clients, cluster[1].Port, "slow", "c", acks: 1, timeoutMs: 300));
    }

    [Fact]
    public async Task OffsetForLeaderEpochAnswersFromTheLeaderEpochCache()
    {
        await using var cluster = await ReplicationCluster.StartAsync();
        cluster.CreateTopic("epochs", [[1, 2, 3]], new Dictionary<string, string>());
        await using var clients = new NodeClientPool("test");
        Assert.Equal((ErrorCode.None, 0L), await ProduceAsync(clients, cluster[1].Port, "epochs", "e0-a", acks: -1, timeoutMs: 5000));
        Assert.Equal((ErrorCode.None, 1L), await ProduceAsync(clients, cluster[1].Port, "epochs", "e0-b", acks: -1, timeoutMs: 5000));

        // Leadership moves to node 2 in epoch 1, which appends two more records.
        cluster.ElectLeader("epochs", 0, 2, [1, 2, 3]);
        Assert.Equal((ErrorCode.None, 2L), await ProduceAsync(clients, cluster[2].Port, "epochs", "e1-a", acks: -1, timeoutMs: 5000));
        Assert.Equal((ErrorCode.None, 3L), await ProduceAsync(clients, cluster[2].Port, "epochs", "e1-b", acks: -1, timeoutMs: 5000));

        async Task<OffsetForLeaderEpochResponse.EpochEndOffset> AskAsync(int port, int currentLeaderEpoch, int leaderEpoch, short version = 4)
        {
            var request = new OffsetForLeaderEpochRequest
            {
                ReplicaId = -1,
                Topics =
                [
                    new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                    {
                        Topic = "epochs",
                        Partitions = [new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = currentLeaderEpoch, LeaderEpoch = leaderEpoch }],
                    },
                ],
            };
            var response = await clients.SendAsync<OffsetForLeaderEpochResponse>("127.0.0.1", port, "ofle", request, version, TimeSpan.FromSeconds(5), CancellationToken.None);
            return Assert.Single(Assert.Single(response.Topics).Partitions);
        }

        var epoch0 = await AskAsync(cluster[2].Port, 1, 0);
        Assert.Equal((ErrorCode.None, 0, 2L), ((ErrorCode)epoch0.ErrorCode, epoch0.LeaderEpoch, epoch0.EndOffset));
        var epoch1 = await AskAsync(cluster[2].Port, 1, 1);
        Assert.Equal((ErrorCode.None, 1, 4L), ((ErrorCode)epoch1.ErrorCode, epoch1.LeaderEpoch, epoch1.EndOffset));
        var future = await AskAsync(cluster[2].Port, -1, 7);
        Assert.Equal((ErrorCode.None, -1, -1L), ((ErrorCode)future.ErrorCode, future.LeaderEpoch, future.EndOffset));
        Assert.Equal(ErrorCode.FencedLeaderEpoch, (ErrorCode)(await AskAsync(cluster[2].Port, 0, 0)).ErrorCode);
        Assert.Equal(ErrorCode.UnknownLeaderEpoch, (ErrorCode)(await AskAsync(cluster[2].Port, 2, 0)).ErrorCode);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, (ErrorCode)(await AskAsync(cluster[1].Port, 1, 0)).ErrorCode);
        var v0 = await AskAsync(cluster[2].Port, -1, 0, version: 0);
        Assert.Equal((ErrorCode.None, 2L), ((ErrorCode)v0.ErrorCode, v0.EndOffset));
    }

    [Fact]
    public async Task OldLeaderTruncatesItsUnreplicatedTailAfterANewLeaderIsElected()
    {
        // The followers stay in the ISR while they are away (no shrink within the test), so the
        // old leader's acks=1 records stay above its high watermark.
        await using var cluster = await ReplicationCluster.StartAsync(overrides: new Dictionary<string, string> { ["replica.lag.time.max.ms"] = "30000" });
        cluster.CreateTopic("diverge", [[1, 2, 3]], new Dictionary<string, string>());
        await using var clients = new NodeClientPool("test");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal((ErrorCode.None, (long)i), await ProduceAsync(clients, cluster[1].Port, "diverge", $"committed-{i}", acks: -1, timeoutMs: 5000));
        }

        await WaitUntilAsync(() => cluster[2].Log("diverge", 0).HighWatermark == 3 && cluster[3].Log("diverge", 0).HighWatermark == 3, "followers at HW 3");

        // Cut the followers off (as if the leader were partitioned away), then write with acks=1:
        // the leader appends records nobody else has.
        await cluster.StopNodeAsync(2, electNewLeaders: false);
        await cluster.StopNodeAsync(3, electNewLeaders: false);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal((ErrorCode.None, 3L + i), await ProduceAsync(clients, cluster[1].Port, "diverge", $"lost-{i}", acks: 1, timeoutMs: 5000));
        }

        var oldLeader = cluster[1].Log("diverge", 0);
        Assert.Equal(7, oldLeader.LogEndOffset);
        Assert.Equal(3, oldLeader.HighWatermark);

        // A consumer on the old leader reads only up to the high watermark, in both isolation levels.
        foreach (var isolation in new[] { IsolationLevel.ReadUncommitted, IsolationLevel.ReadCommitted })
        {
            var config = Clients.ConsumerConfig($"127.0.0.1:{cluster[1].Port}");
            config.IsolationLevel = isolation;
            using var consumer = new ConsumerBuilder<string, string>(config).Build();
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition("diverge", 0), TimeSpan.FromSeconds(5));
            Assert.Equal(3, watermarks.High.Value);
            consumer.Assign(new TopicPartitionOffset("diverge", 0, 0));
            var seen = new List<string>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1.5);
            while (DateTime.UtcNow < deadline)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } record)
                {
                    seen.Add(record.Message.Value);
                }
            }

            Assert.Equal(["committed-0", "committed-1", "committed-2"], seen);
        }

        // ListOffsets latest: a consumer (replica id -1) gets the high watermark, the debugging id
        // (-2, as Kafka's tools use) the log end offset.
        foreach (var (replicaId, expected) in new[] { (-1, 3L), (-2, 7L) })
        {
            var listOffsets = new ListOffsetsRequest
            {
                ReplicaId = replicaId,
                Topics = [new ListOffsetsRequest.ListOffsetsTopic { Name = "diverge", Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = 0, Timestamp = -1 }] }],
            };
            var answer = await clients.SendAsync<ListOffsetsResponse>("127.0.0.1", cluster[1].Port, "list-offsets", listOffsets, 7, TimeSpan.FromSeconds(5), CancellationToken.None);
            var partition = Assert.Single(Assert.Single(answer.Topics).Partitions);
            Assert.Equal((0, expected), (partition.ErrorCode, partition.Offset));
        }

        // The old leader goes down; node 2 comes back and is elected (it was in the ISR), takes writes.
        await cluster.StopNodeAsync(1, electNewLeaders: false);
        await cluster.StartNodeAsync(2);
        await cluster.StartNodeAsync(3);
        cluster.ElectLeader("diverge", 0, 2, [2, 3]);
        Assert.Equal((ErrorCode.None, 3L), await ProduceAsync(clients, cluster[2].Port, "diverge", "new-leader-0", acks: -1, timeoutMs: 5000));

        // The old leader restarts as a follower: it truncates its divergent tail and follows.
        await cluster.StartNodeAsync(1);
        await WaitUntilAsync(() => cluster[1].Log("diverge", 0) is var log && log.LogEndOffset == 4 && log.HighWatermark == 4,
            "old leader truncated and caught up");
        Assert.Equal(["committed-0", "committed-1", "committed-2", "new-leader-0"], ReadValues(cluster[1].Log("diverge", 0), 0, 4).Select(v => v.Value));
        Assert.Equal(cluster[2].Log("diverge", 0).LeaderEpochCache.Epochs, cluster[1].Log("diverge", 0).LeaderEpochCache.Epochs);
        await WaitUntilAsync(() => cluster.Partition("diverge", 0).Isr.Order().SequenceEqual([1, 2, 3]), "old leader back in the ISR");
    }

    [Fact]
    public async Task AnIdempotentProducerContinuesOnTheNewLeaderWithoutDuplicatesOrSequenceErrors()
    {
        await using var cluster = await ReplicationCluster.StartAsync();
        cluster.CreateTopic("idempotent", [[1, 2, 3]], new Dictionary<string, string>());
        var config = Clients.ProducerConfig(cluster.BootstrapServers);
        config.EnableIdempotence = true;
        config.TopicMetadataRefreshIntervalMs = 500;
        using var producer = new ProducerBuilder<string, string>(config).Build();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(i, (await producer.ProduceAsync(new TopicPartition("idempotent", 0), new Message<string, string> { Value = $"r{i}" })).Offset.Value);
        }

        // The followers built the producer's state from the replicated batches: after the move,
        // node 2 accepts the producer's next sequence numbers as the continuation.
        await WaitUntilAsync(() => cluster[2].Log("idempotent", 0).HighWatermark == 10, "node 2 has the first ten records");
        var producerId = Assert.Single(cluster[1].Log("idempotent", 0).ActiveProducers).ProducerId;
        Assert.Equal(producerId, Assert.Single(cluster[2].Log("idempotent", 0).ActiveProducers).ProducerId);
        cluster.ElectLeader("idempotent", 0, 2, [1, 2, 3]);
        for (var i = 10; i < 20; i++)
        {
            var result = await producer.ProduceAsync(new TopicPartition("idempotent", 0), new Message<string, string> { Value = $"r{i}" });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
            Assert.Equal(i, result.Offset.Value);
        }

        var log = cluster[3].Log("idempotent", 0);
        await WaitUntilAsync(() => log.HighWatermark == 20, "node 3 follows the new leader");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => ((long)i, $"r{i}")), ReadValues(log, 0, 20));
    }

    [Fact]
    public async Task DeleteRecordsOnTheLeaderMovesTheFollowersLogStart()
    {
        await using var cluster = await ReplicationCluster.StartAsync();
        cluster.CreateTopic("delete-records", [[1, 2, 3]], new Dictionary<string, string>());
        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(cluster.BootstrapServers)).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                await producer.ProduceAsync(new TopicPartition("delete-records", 0), new Message<string, string> { Value = $"r{i}" });
            }
        }

        using (var admin = Clients.Admin($"127.0.0.1:{cluster[1].Port}"))
        {
            var deleted = await admin.DeleteRecordsAsync([new TopicPartitionOffset("delete-records", 0, 4)]);
            Assert.Equal(4, Assert.Single(deleted).Offset.Value);
        }

        foreach (var nodeId in new[] { 2, 3 })
        {
            var log = cluster[nodeId].Log("delete-records", 0);
            await WaitUntilAsync(() => log.LogStartOffset == 4, $"node {nodeId}'s log start follows the leader's (is {log.LogStartOffset})");
            Assert.Equal(10, log.LogEndOffset);
        }
    }

    [Fact]
    public async Task AFollowerBehindTheLeadersLogStartStartsOverAtIt()
    {
        await using var cluster = await ReplicationCluster.StartAsync();
        cluster.CreateTopic("start-over", [[1, 2, 3]], new Dictionary<string, string>());
        await cluster.StopNodeAsync(3, electNewLeaders: false);

        // One batch of five records, then the leader's log start moves into the middle of it.
        await using var clients = new NodeClientPool("test");
        var builder = new RecordBatchBuilder();
        for (var i = 0; i < 5; i++)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes($"b{i}"));
        }

        var request = new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 5000,
            TopicData = [new ProduceRequest.TopicProduceData { Name = "start-over", PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.Build() }] }],
        };
        var produced = await clients.SendAsync<ProduceResponse>("127.0.0.1", cluster[1].Port, "produce", request, 9, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(0, Assert.Single(Assert.Single(produced.Responses).PartitionResponses).ErrorCode);
        await WaitUntilAsync(() => cluster.Partition("start-over", 0).Isr.SequenceEqual([1, 2]), "node 3 leaves the ISR");
        using (var admin = Clients.Admin($"127.0.0.1:{cluster[1].Port}"))
        {
            await admin.DeleteRecordsAsync([new TopicPartitionOffset("start-over", 0, 2)]);
        }

        Assert.Equal((ErrorCode.None, 5L), await ProduceAsync(clients, cluster[1].Port, "start-over", "after", acks: -1, timeoutMs: 5000));

        // Node 3's log (empty, at 0) is below the leader's start (2): OFFSET_OUT_OF_RANGE, then it
        // starts over at the batch holding offset 2 and its log start follows the leader's.
        await cluster.StartNodeAsync(3);
        var log = cluster[3].Log("start-over", 0);
        await WaitUntilAsync(() => log.LogEndOffset == 6 && log.HighWatermark == 6 && log.LogStartOffset == 2,
            $"node 3 starts over (start {log.LogStartOffset}, end {log.LogEndOffset}, HW {log.HighWatermark})");
        Assert.Equal([(2L, "b2"), (3L, "b3"), (4L, "b4"), (5L, "after")], ReadValues(log, 2, 6).Where(v => v.Offset >= 2));
        await WaitUntilAsync(() => cluster.Partition("start-over", 0).Isr.Order().SequenceEqual([1, 2, 3]), "node 3 rejoins the ISR");
    }

    internal static async Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(NodeClientPool clients, int port, string topic, string value, short acks, int timeoutMs, int partition = 0)
    {
        var batch = new RecordBatchBuilder().Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes(value)).Build();
        var request = new ProduceRequest
        {
            Acks = acks,
            TimeoutMs = timeoutMs,
            TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = batch }] }],
        };
        var response = await clients.SendAsync<ProduceResponse>("127.0.0.1", port, "produce", request, 9, TimeSpan.FromSeconds(10), CancellationToken.None);
        var answer = Assert.Single(Assert.Single(response.Responses).PartitionResponses);
        return ((ErrorCode)answer.ErrorCode, answer.BaseOffset);
    }

    internal static List<(long Offset, string Value)> ReadValues(Gregor.Storage.Log log, long from, long to)
    {
        using var read = log.Read(from, int.MaxValue, to, minOneBatch: true);
        var values = new List<(long, string)>();
        var data = read.Records.Span;
        var position = 0;
        while (RecordBatchReader.TryReadNext(data, ref position, out var start, out var size))
        {
            using var reader = new RecordReader(data.Slice(start, size));
            var baseOffset = reader.BaseOffset;
            foreach (var record in reader)
            {
                values.Add((baseOffset + record.OffsetDelta, Encoding.UTF8.GetString(record.Value)));
            }
        }

        return values;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(25);
        }
    }
}
