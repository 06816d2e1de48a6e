using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Cluster.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Gregor.Cluster.Tests;

/// <summary>
/// Issue 5's cluster tests on real, separate broker processes (combined mode, three nodes on
/// loopback): placement, failover under acks=all load with kill -9, divergent-tail truncation,
/// NOT_ENOUGH_REPLICAS, and the controller quorum losing its leader.
/// </summary>
[Trait("Category", "MultiProcess")]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Replication_factor_3_topic_spreads_leaders_and_every_broker_lists_all_three() =>
        ProcessCluster.RunAsync(3, output, async cluster =>
        {
            foreach (var node in cluster.Nodes)
            {
                Assert.Equal(new[] { 1, 2, 3 }, ProcessCluster.BrokersSeenBy(node));
            }

            await ClusterClients.CreateTopicAsync(cluster.BootstrapServers, "spread", partitions: 6, replicationFactor: 3);
            var partitions = await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, "spread", 3, Recovery);

            Assert.Equal(6, partitions.Count);
            Assert.All(partitions, p => Assert.Equal(new[] { 1, 2, 3 }, p.Replicas.Order()));
            // Kafka's rack-unaware round robin: six partitions over three brokers, two leaders each.
            Assert.All(partitions.GroupBy(p => p.Leader), g => Assert.Equal(2, g.Count()));
            Assert.Equal(new[] { 1, 2, 3 }, partitions.Select(p => p.Leader).Distinct().Order());

            // Any broker describes the whole topic, not only what it leads.
            foreach (var node in cluster.Nodes)
            {
                var seen = await ClusterClients.DescribeAsync(node.BootstrapServers, "spread");
                Assert.Equal(partitions.Select(p => (p.Partition, p.Leader)), seen.Select(p => (p.Partition, p.Leader)));
            }
        });

    [Fact]
    public Task Leader_killed_under_acks_all_load_loses_no_acknowledged_record() =>
        ProcessCluster.RunAsync(3, output, cluster => FailoverUnderLoadAsync(cluster, "failover-leader", async () =>
        {
            var partitions = await ClusterClients.DescribeAsync(cluster.BootstrapServers, "failover-leader");
            return partitions[0].Leader;
        }));

    [Fact]
    public Task Active_controller_killed_under_acks_all_load_loses_no_acknowledged_record() =>
        ProcessCluster.RunAsync(3, output, cluster => FailoverUnderLoadAsync(cluster, "failover-controller", () => ClusterClients.ControllerAsync(cluster.BootstrapServers)));

    /// <summary>
    /// acks=all, min.insync.replicas=2, a producer without idempotence writing continuously; the
    /// chosen node is killed with SIGKILL and later restarted on the same data directory.
    /// </summary>
    private async Task FailoverUnderLoadAsync(ProcessCluster cluster, string topic, Func<Task<int>> victimOf)
    {
        const int partitionCount = 3;
        await ClusterClients.CreateTopicAsync(cluster.BootstrapServers, topic, partitionCount, 3, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
        await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);

        await using var load = new LoadProducer(cluster.BootstrapServers, topic, partitionCount, TimeSpan.FromMilliseconds(10));
        load.Start();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.True(load.AckCount > 0, "nothing was acknowledged before the failure");

        var victim = await victimOf();
        Assert.InRange(victim, 1, 3);
        var killedAt = load.Now;
        cluster.Log($"killing node {victim} after {load.AckCount} acks");
        cluster.Node(victim).Kill();

        // Two of three replicas remain: min.insync.replicas=2 still holds, so writes resume on a
        // new leader for every partition the victim led.
        var survivors = cluster.RunningBootstrapServers;
        await ClusterClients.WaitForPartitionsAsync(survivors, topic, ps => ps.All(p => p.Leader >= 0 && p.Leader != victim), Recovery, $"led by survivors of node {victim}");
        await Task.Delay(TimeSpan.FromSeconds(4));
        var acksWhileDown = load.AcksSince(killedAt);
        cluster.Log($"{acksWhileDown} acks while node {victim} was down");
        Assert.True(acksWhileDown > 0, $"no record was acknowledged while node {victim} was down (errors: {Describe(load.Errors)})");

        cluster.Node(victim).Start();
        await cluster.WaitUntilFormedAsync(Recovery);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await load.StopAsync(TimeSpan.FromSeconds(100));

        await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);
        var summary = load.Verify(cluster.BootstrapServers);
        cluster.Log($"verified: {summary}; sent {load.Sent}, errors {Describe(load.Errors)}");
        // With retries and a 90 s delivery timeout every record is eventually acknowledged.
        Assert.Empty(load.Errors);
    }

    [Fact]
    public Task Restarted_old_leader_truncates_its_divergent_tail_that_no_consumer_saw() =>
        ProcessCluster.RunAsync(3, output, async cluster =>
        {
            const string topic = "divergent";
            // Replica order 1,2,3: node 1 is the preferred (first) leader.
            await ClusterClients.CreateTopicAsync(cluster.BootstrapServers, topic, [[1, 2, 3]], new Dictionary<string, string> { ["min.insync.replicas"] = "1" });
            var initial = await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);
            Assert.Equal(1, initial[0].Leader);
            var leader = cluster.Node(1);

            var seen = new HashSet<string>();
            using var watching = new CancellationTokenSource();
            var watcher = Task.Run(() => WatchPartition(cluster.BootstrapServers, topic, seen, watching.Token));

            // Committed history: replicated to all three.
            using (var producer = ClusterClients.Producer(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, BrokerAddressFamily = BrokerAddressFamily.V4 }))
            {
                for (var i = 0; i < 10; i++)
                {
                    await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string> { Value = $"committed-{i}" });
                }
            }

            await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);

            // Freeze both followers (no fetches, no quorum votes), then write with acks=1: only the
            // leader's log gets these, above the high watermark.
            cluster.Node(2).Pause();
            cluster.Node(3).Pause();
            // A follower's fetch already waiting at the leader would carry the next records into
            // its socket buffer, to be appended once it resumes: let those long polls expire
            // (replica.fetch.wait.max.ms, 500 ms) before writing.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var doomed = new List<long>();
            using (var producer = ClusterClients.Producer(new ProducerConfig { BootstrapServers = leader.BootstrapServers, Acks = Acks.Leader, BrokerAddressFamily = BrokerAddressFamily.V4, MessageTimeoutMs = 10_000 }))
            {
                for (var i = 0; i < 5; i++)
                {
                    var result = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string> { Value = $"doomed-{i}" });
                    doomed.Add(result.Offset.Value);
                }
            }

            Assert.Equal(Enumerable.Range(10, 5).Select(i => (long)i), doomed);
            leader.Kill();
            cluster.Node(2).Resume();
            cluster.Node(3).Resume();

            // Nodes 2 and 3 are a majority: node 1 is fenced and a follower from the ISR leads.
            var survivors = cluster.RunningBootstrapServers;
            var after = await ClusterClients.WaitForPartitionsAsync(survivors, topic, ps => ps[0].Leader is 2 or 3, Recovery, "led by node 2 or 3");
            cluster.Log($"after failover: {after[0]}");

            using (var producer = ClusterClients.Producer(new ProducerConfig { BootstrapServers = survivors, Acks = Acks.All, BrokerAddressFamily = BrokerAddressFamily.V4, MessageTimeoutMs = 30_000 }))
            {
                for (var i = 0; i < 5; i++)
                {
                    var result = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string> { Value = $"new-{i}" });
                    Assert.Equal(10 + i, result.Offset.Value);
                }
            }

            leader.Start();
            await cluster.WaitUntilFormedAsync(Recovery);
            await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);

            // Make the old leader lead again and read from it: it must serve the new history at
            // offsets 10..14, so it truncated doomed-* and fetched from the new leader.
            using (var admin = ClusterClients.Admin(cluster.BootstrapServers))
            {
                try
                {
                    await admin.ElectLeadersAsync(ElectionType.Preferred, [new TopicPartition(topic, 0)], new ElectLeadersOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
                }
                catch (ElectLeadersException e) when (e.Results.TopicPartitions.All(p => p.Error.Code == ErrorCode.ElectionNotNeeded))
                {
                    // Automatic preferred-leader balancing got there first.
                }
            }

            await ClusterClients.WaitForPartitionsAsync(cluster.BootstrapServers, topic, ps => ps[0].Leader == 1 && ps[0].Isr.Count == 3, Recovery, "led by node 1 again");
            var log = ClusterClients.ReadPartition(leader.BootstrapServers, topic, 0, TimeSpan.FromSeconds(30));
            Assert.Equal(
                Enumerable.Range(0, 10).Select(i => $"committed-{i}").Concat(Enumerable.Range(0, 5).Select(i => $"new-{i}")),
                log.Values);
            Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)i), log.Keys);

            await watching.CancelAsync();
            await watcher;
            lock (seen)
            {
                Assert.DoesNotContain(seen, v => v.StartsWith("doomed-", StringComparison.Ordinal));
                Assert.Contains("new-4", seen);
            }
        });

    private static void WatchPartition(string bootstrapServers, string topic, HashSet<string> seen, CancellationToken cancellationToken)
    {
        using var consumer = ClusterClients.Consumer(bootstrapServers);
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is { IsPartitionEOF: false })
            {
                lock (seen)
                {
                    seen.Add(result.Message.Value);
                }
            }
        }
    }

    [Fact]
    public Task Two_of_three_replicas_down_acks_all_fails_with_not_enough_replicas_and_acknowledges_nothing() =>
        // Five voters so the controller quorum (3 of 5) outlives the two replicas killed; the topic
        // lives on nodes 3, 4, 5 only.
        ProcessCluster.RunAsync(5, output, async cluster =>
        {
            const string topic = "two-down";
            await ClusterClients.CreateTopicAsync(cluster.BootstrapServers, topic, [[3, 4, 5]], new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
            await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);

            var acked = new List<(string Value, long Offset)>();
            var config = new ProducerConfig
            {
                BootstrapServers = cluster.BootstrapServers,
                Acks = Acks.All,
                EnableIdempotence = false,
                // One attempt per record: the error the broker answered is the error reported.
                MessageSendMaxRetries = 0,
                MessageTimeoutMs = 20_000,
                RequestTimeoutMs = 10_000,
                BrokerAddressFamily = BrokerAddressFamily.V4,
                TopicMetadataRefreshIntervalMs = 1_000,
            };
            using var producer = ClusterClients.Producer(config);
            for (var i = 0; i < 5; i++)
            {
                var result = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string> { Value = $"before-{i}" });
                acked.Add((result.Message.Value, result.Offset.Value));
            }

            var leader = (await ClusterClients.DescribeAsync(cluster.BootstrapServers, topic))[0].Leader;
            var followers = new[] { 3, 4, 5 }.Where(n => n != leader).ToArray();
            foreach (var follower in followers)
            {
                cluster.Node(follower).Kill();
            }

            // Records produced from the kill on must never be reported acknowledged: the only
            // replica left holds them.
            var outcomes = new List<(string Value, ErrorCode Code)>();
            var stopwatch = Stopwatch.StartNew();
            var i2 = 0;
            while (stopwatch.Elapsed < TimeSpan.FromSeconds(25) && !outcomes.Any(o => o.Code == ErrorCode.NotEnoughReplicas))
            {
                var value = $"during-{i2++}";
                try
                {
                    var result = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string> { Value = value });
                    Assert.Fail($"{value} was acknowledged at offset {result.Offset} with two of three replicas dead");
                }
                catch (ProduceException<Null, string> e)
                {
                    outcomes.Add((value, e.Error.Code));
                }

                await Task.Delay(250);
            }

            cluster.Log($"outcomes while two replicas were down: {string.Join(", ", outcomes.Select(o => $"{o.Value}={o.Code}"))}");
            Assert.Contains(outcomes, o => o.Code == ErrorCode.NotEnoughReplicas);
            Assert.All(outcomes, o => Assert.Contains(o.Code, new[] { ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicasAfterAppend, ErrorCode.RequestTimedOut, ErrorCode.Local_MsgTimedOut, ErrorCode.Local_TimedOut }));
            var isr = (await ClusterClients.DescribeAsync(cluster.RunningBootstrapServers, topic))[0].Isr;
            Assert.Equal(new[] { leader }, isr);

            // Once the replicas are back, the acknowledged records are where the broker said.
            foreach (var follower in followers)
            {
                cluster.Node(follower).Start();
            }

            await cluster.WaitUntilFormedAsync(Recovery);
            await ClusterClients.WaitForFullIsrAsync(cluster.BootstrapServers, topic, 3, Recovery);
            var log = ClusterClients.ReadPartition(cluster.BootstrapServers, topic, 0, TimeSpan.FromSeconds(30));
            foreach (var (value, offset) in acked)
            {
                Assert.Equal(value, log[offset]);
            }
        }, new Dictionary<string, string> { ["default.replication.factor"] = "3" });

    [Fact]
    public Task Controller_quorum_elects_a_new_active_controller_and_topic_creation_resumes_within_seconds() =>
        ProcessCluster.RunAsync(3, output, async cluster =>
        {
            await ClusterClients.CreateTopicAsync(cluster.BootstrapServers, "before-election", 3, 3);
            var controller = await ClusterClients.ControllerAsync(cluster.BootstrapServers);
            Assert.InRange(controller, 1, 3);

            cluster.Log($"killing the active controller, node {controller}");
            cluster.Node(controller).Kill();
            var survivors = cluster.RunningBootstrapServers;
            var stopwatch = Stopwatch.StartNew();
            Exception? last = null;
            var created = false;
            while (stopwatch.Elapsed < TimeSpan.FromSeconds(15))
            {
                try
                {
                    // A fresh admin client per attempt with a short timeout: librdkafka sends
                    // CreateTopics to the controller its last Metadata named, and waits for that
                    // node (dead here) rather than asking again.
                    await ClusterClients.CreateTopicAsync(survivors, "after-election", 3, 2, timeout: TimeSpan.FromSeconds(2));
                    created = true;
                    break;
                }
                catch (CreateTopicsException e) when (e.Results.Any(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
                {
                    // An earlier attempt was committed but its answer lost with the old controller.
                    created = true;
                    break;
                }
                catch (KafkaException e)
                {
                    last = e;
                    await Task.Delay(200);
                }
            }

            var elapsed = stopwatch.Elapsed;
            cluster.Log($"topic creation after the election took {elapsed.TotalSeconds:F1} s");
            Assert.True(created, $"no topic could be created within 15 s of killing controller {controller}: {last?.Message}");
            Assert.True(elapsed < TimeSpan.FromSeconds(10), $"topic creation took {elapsed.TotalSeconds:F1} s after the controller died");

            var newController = await ClusterClients.ControllerAsync(survivors);
            Assert.NotEqual(controller, newController);
            Assert.InRange(newController, 1, 3);
            var partitions = await ClusterClients.WaitForPartitionsAsync(survivors, "after-election", ps => ps.Count == 3 && ps.All(p => p.Leader >= 0 && p.Leader != controller), Recovery, "led by live brokers");
            Assert.All(partitions, p => Assert.Equal(2, p.Replicas.Count));
        });

    private static string Describe(IReadOnlyList<(int Partition, long Sequence, ErrorCode Code)> errors) =>
        errors.Count == 0 ? "none" : string.Join(", ", errors.GroupBy(e => e.Code).Select(g => $"{g.Key} x{g.Count()}"));
}
