using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Broker.Client;
using Gregor.Broker.Metadata;
using Gregor.Host;
using Gregor.TestKit;
using Xunit;
using ErrorCode = Gregor.Protocol.ErrorCode;
using PartitionMetadata = Gregor.Broker.Metadata.PartitionMetadata;

namespace Gregor.Broker.Tests.Replication;

/// <summary>
/// Replication end to end on <see cref="InProcessCluster"/>: three combined-mode nodes (Raft
/// controller quorum, metadata image, AlterPartition to the active controller), a real
/// Confluent.Kafka producer with acks=all, real follower fetches.
/// </summary>
[Collection("Replication")]
public sealed class ClusterReplicationTests
{
    private static readonly Dictionary<string, string> FastReplication = new()
    {
        ["replica.fetch.wait.max.ms"] = "100",
        ["replica.fetch.backoff.ms"] = "200",
        ["replica.lag.time.max.ms"] = "3000",
    };

    [Fact]
    public async Task AcksAllRecordsAreOnAllThreeReplicasAtTheSameOffsets()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, FastReplication);
        await cluster.WaitForBrokersAsync();
        await CreateTopicAsync(cluster, "e2e-acks-all", partitions: 3, minInsyncReplicas: 2);

        var acked = new List<(int Partition, long Offset, string Value)>();
        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(cluster.BootstrapServers)).Build())
        {
            for (var i = 0; i < 30; i++)
            {
                var result = await producer.ProduceAsync(new TopicPartition("e2e-acks-all", i % 3), new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
                Assert.Equal(PersistenceStatus.Persisted, result.Status);
                acked.Add((result.Partition.Value, result.Offset.Value, $"v{i}"));
            }
        }

        for (var partition = 0; partition < 3; partition++)
        {
            var expected = acked.Where(a => a.Partition == partition).OrderBy(a => a.Offset).Select(a => (a.Offset, a.Value)).ToList();
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), expected.Select(e => e.Offset));
            foreach (var server in cluster.RunningServers)
            {
                var log = server.LogManager.GetLog("e2e-acks-all", partition)!;
                await ReplicationTests.WaitUntilAsync(() => log.LogEndOffset == 10 && log.HighWatermark == 10,
                    $"node {server.NodeId} partition {partition} at LEO/HW 10 (is {log.LogEndOffset}/{log.HighWatermark})");
                Assert.Equal(expected, ReplicationTests.ReadValues(log, 0, 10));
            }

            Assert.Equal([1, 2, 3], Partition(cluster.RunningServers[0], "e2e-acks-all", partition).Isr.Order());
        }
    }

    [Fact]
    public async Task AStoppedFollowerLeavesTheIsrAndRejoinsCaughtUpAfterRestart()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, FastReplication);
        await cluster.WaitForBrokersAsync();
        await CreateTopicAsync(cluster, "e2e-isr", partitions: 1, minInsyncReplicas: 2);
        var leader = Partition(cluster.RunningServers[0], "e2e-isr", 0).LeaderId;
        var follower = cluster.NodeIds.First(id => id != leader);

        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(cluster.BootstrapServers)).Build();
        Assert.Equal(0, (await producer.ProduceAsync(new TopicPartition("e2e-isr", 0), new Message<string, string> { Value = "r0" })).Offset.Value);

        await cluster.StopNodeAsync(follower);
        var leaderServer = cluster.Server(leader);
        await ReplicationTests.WaitUntilAsync(() => !Partition(leaderServer, "e2e-isr", 0).Isr.Contains(follower), $"node {follower} leaves the ISR");

        // Two replicas in the ISR still satisfy min.insync.replicas=2.
        for (var i = 1; i < 10; i++)
        {
            var result = await producer.ProduceAsync(new TopicPartition("e2e-isr", 0), new Message<string, string> { Value = $"r{i}" });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
            Assert.Equal(i, result.Offset.Value);
        }

        await cluster.StartNodeAsync(follower);
        await cluster.WaitForBrokersAsync();

        // The leader adds it back (AlterPartition) once it has fetched up to the high watermark.
        await ReplicationTests.WaitUntilAsync(() => Partition(leaderServer, "e2e-isr", 0).Isr.Contains(follower), $"node {follower} rejoins the ISR");
        var log = cluster.Server(follower).LogManager.GetLog("e2e-isr", 0)!;
        await ReplicationTests.WaitUntilAsync(() => log.HighWatermark == 10, "the restarted follower's high watermark reaches 10");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => ((long)i, $"r{i}")), ReplicationTests.ReadValues(log, 0, 10));
    }

    [Fact]
    public async Task WithTwoOfThreeBrokersDownAcksAllFailsWithNotEnoughReplicas()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, FastReplication);
        await cluster.WaitForBrokersAsync();
        // The partition led by the active controller: with two of three combined nodes gone the
        // Raft quorum is gone too, so the ISR changes of both controlled shutdowns must be
        // committed by a controller that outlives them (a controller that stops right after
        // committing leaves the survivor unaware of the commit, as in any Raft).
        var controller = await cluster.WaitForActiveControllerAsync();
        await CreateTopicAsync(cluster, "e2e-min-isr", partitions: 3, minInsyncReplicas: 2);
        var partition = Enumerable.Range(0, 3).First(p => Partition(cluster.RunningServers[0], "e2e-min-isr", p).LeaderId == controller);
        var leader = controller;
        var leaderServer = cluster.Server(leader);
        var port = leaderServer.BoundEndpoints[0].Port;
        await using var clients = new NodeClientPool("test");
        Assert.Equal((ErrorCode.None, 0L), await ReplicationTests.ProduceAsync(clients, port, "e2e-min-isr", "acked", acks: -1, timeoutMs: 5000, partition: partition));

        foreach (var id in cluster.NodeIds.Where(id => id != leader))
        {
            await cluster.StopNodeAsync(id);
        }

        await ReplicationTests.WaitUntilAsync(() => Partition(leaderServer, "e2e-min-isr", partition).Isr.SequenceEqual([leader]), $"the ISR is the leader alone (is [{string.Join(",", Partition(leaderServer, "e2e-min-isr", partition).Isr)}], controller {leaderServer.Controller.ActiveControllerId}, leader {leader})");
        var refused = await ReplicationTests.ProduceAsync(clients, port, "e2e-min-isr", "refused", acks: -1, timeoutMs: 5000, partition: partition);
        Assert.Equal(ErrorCode.NotEnoughReplicas, refused.Error);
        Assert.Equal(1, leaderServer.LogManager.GetLog("e2e-min-isr", partition)!.LogEndOffset);

        var config = Clients.ProducerConfig(leaderServer.BootstrapServers);
        config.MessageTimeoutMs = 3000;
        using var producer = new ProducerBuilder<string, string>(config).Build();
        var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync(new TopicPartition("e2e-min-isr", partition), new Message<string, string> { Value = "client" }));
        Assert.NotEqual(PersistenceStatus.Persisted, error.DeliveryResult.Status);
        Assert.Contains(error.Error.Code, new[] { Confluent.Kafka.ErrorCode.NotEnoughReplicas, Confluent.Kafka.ErrorCode.Local_MsgTimedOut });
        Assert.Equal(1, leaderServer.LogManager.GetLog("e2e-min-isr", partition)!.LogEndOffset);
    }

    [Fact]
    public async Task AKilledFollowerIsShrunkOutOfTheIsrByTheLeaderAfterTheLagTimeAndRejoins()
    {
        // replica.lag.time.max.ms (1.5 s) well below broker.session.timeout.ms (InProcessCluster's
        // 4 s): the leader's ISR shrink, not the controller's fencing, removes the killed follower.
        var overrides = new Dictionary<string, string>(FastReplication) { ["replica.lag.time.max.ms"] = "1500", ["broker.session.timeout.ms"] = "20000" };
        await using var cluster = await InProcessCluster.StartAsync(3, overrides);
        await cluster.WaitForBrokersAsync();
        await CreateTopicAsync(cluster, "e2e-lag", partitions: 1, minInsyncReplicas: 1);
        var leader = Partition(cluster.RunningServers[0], "e2e-lag", 0).LeaderId;
        var controller = await cluster.WaitForActiveControllerAsync();
        var follower = cluster.NodeIds.First(id => id != leader && id != controller);
        var leaderServer = cluster.Server(leader);
        var port = leaderServer.BoundEndpoints[0].Port;
        await using var clients = new NodeClientPool("test");
        Assert.Equal((ErrorCode.None, 0L), await ReplicationTests.ProduceAsync(clients, port, "e2e-lag", "r0", acks: -1, timeoutMs: 5000));

        await cluster.KillNodeAsync(follower);

        // A follower with the leader's log end is caught up (Kafka's rule): the log must move on.
        Assert.Equal((ErrorCode.None, 1L), await ReplicationTests.ProduceAsync(clients, port, "e2e-lag", "r1", acks: 1, timeoutMs: 5000));
        var started = DateTime.UtcNow;
        await ReplicationTests.WaitUntilAsync(() => !Partition(leaderServer, "e2e-lag", 0).Isr.Contains(follower), $"the leader shrinks node {follower} out of the ISR");
        var elapsed = DateTime.UtcNow - started;
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(1000) && elapsed < TimeSpan.FromSeconds(10), $"ISR shrink after {elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(2, Partition(leaderServer, "e2e-lag", 0).Isr.Count);

        // acks=all completes with the two left, and the HW moves past the killed follower.
        Assert.Equal((ErrorCode.None, 2L), await ReplicationTests.ProduceAsync(clients, port, "e2e-lag", "r2", acks: -1, timeoutMs: 5000));
        Assert.Equal(3, leaderServer.LogManager.GetLog("e2e-lag", 0)!.HighWatermark);

        await cluster.StartNodeAsync(follower);
        await ReplicationTests.WaitUntilAsync(() => Partition(leaderServer, "e2e-lag", 0).Isr.Contains(follower), $"node {follower} rejoins the ISR");
        var log = cluster.Server(follower).LogManager.GetLog("e2e-lag", 0)!;
        await ReplicationTests.WaitUntilAsync(() => log.HighWatermark == 3, "the restarted follower catches up");
        Assert.Equal([(0L, "r0"), (1L, "r1"), (2L, "r2")], ReplicationTests.ReadValues(log, 0, 3));
    }

    private static PartitionMetadata Partition(BrokerServer server, string topic, int partition) =>
        server.Metadata.TryGetTopic(topic, out var metadata) ? metadata.Partitions[partition] : throw new InvalidOperationException($"Node {server.NodeId} does not know {topic}.");

    private static async Task CreateTopicAsync(InProcessCluster cluster, string topic, int partitions, int minInsyncReplicas)
    {
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync(
            [
                new TopicSpecification
                {
                    Name = topic,
                    NumPartitions = partitions,
                    ReplicationFactor = 3,
                    Configs = new Dictionary<string, string> { ["min.insync.replicas"] = minInsyncReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                },
            ]);
        }

        // Every node has the topic (and its partitions' logs) before the first produce.
        await ReplicationTests.WaitUntilAsync(
            () => cluster.RunningServers.All(s => s.Metadata.TryGetTopic(topic, out var t) && t.Partitions.Count == partitions
                && Enumerable.Range(0, partitions).All(p => s.ReplicaManager.GetPartition(topic, p) is not null)),
            $"every node hosts {topic}");
    }
}
