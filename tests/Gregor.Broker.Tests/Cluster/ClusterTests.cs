using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Broker.Client;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>Three combined-mode nodes in this process, driven through Confluent.Kafka's AdminClient.</summary>
public sealed class ClusterTests
{
    [Fact]
    public async Task ReplicatedTopicSpreadsLeadersAndEveryBrokerDescribesTheWholeCluster()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();

        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "spread", NumPartitions = 6, ReplicationFactor = 3 }]);
        }

        // Every broker, asked on its own, lists the three brokers and the same leaders.
        List<int>? leaders = null;
        foreach (var server in cluster.RunningServers)
        {
            using var admin = Clients.Admin(server.BootstrapServers);
            var metadata = await WaitForTopicAsync(admin, "spread");
            Assert.Equal([1, 2, 3], metadata.Brokers.Select(b => b.BrokerId).Order());
            var topic = Assert.Single(metadata.Topics, t => t.Topic == "spread");
            Assert.Equal(6, topic.Partitions.Count);
            Assert.All(topic.Partitions, p =>
            {
                Assert.Equal(3, p.Replicas.Length);
                Assert.Equal(3, p.InSyncReplicas.Length);
                Assert.Equal(p.Replicas[0], p.Leader);
            });
            var theseLeaders = topic.Partitions.OrderBy(p => p.PartitionId).Select(p => p.Leader).ToList();
            leaders ??= theseLeaders;
            Assert.Equal(leaders, theseLeaders);
        }

        // Kafka's round robin: 6 partitions over 3 brokers, two leaderships each.
        Assert.All(leaders!.GroupBy(l => l), g => Assert.Equal(2, g.Count()));
    }

    [Fact]
    public async Task ANewControllerIsElectedWhenTheActiveOneStopsAndTopicCreationWorksThroughAnyBroker()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        var first = await cluster.WaitForActiveControllerAsync();

        await cluster.StopNodeAsync(first);
        var stopped = DateTime.UtcNow;
        var second = await cluster.WaitForActiveControllerAsync(TimeSpan.FromSeconds(10));
        Assert.NotEqual(first, second);
        Assert.True(DateTime.UtcNow - stopped < TimeSpan.FromSeconds(10));

        // Through each surviving broker, the active controller and the other one (which forwards).
        foreach (var server in cluster.RunningServers)
        {
            var name = $"after-failover-{server.NodeId}";
            using var admin = Clients.Admin(server.BootstrapServers);
            await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = 2, ReplicationFactor = 2 }]);
            var metadata = await WaitForTopicAsync(admin, name);
            var topic = Assert.Single(metadata.Topics, t => t.Topic == name);
            Assert.Equal(2, topic.Partitions.Count);
            Assert.All(topic.Partitions, p => Assert.DoesNotContain(first, p.Replicas));
        }

        // Metadata names the new controller through every surviving broker.
        foreach (var server in cluster.RunningServers)
        {
            Assert.Equal(second, server.Metadata.ControllerId);
        }
    }

    [Fact]
    public async Task FindCoordinatorAnswersCoordinatorNotAvailableWhileFewerBrokersThanTheOffsetsReplicationFactorAreAlive()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        var controller = await cluster.WaitForActiveControllerAsync();
        var victim = cluster.NodeIds.First(id => id != controller);
        await cluster.StopNodeAsync(victim);
        await cluster.WaitForBrokersAsync();

        var server = cluster.RunningServers[0];
        await using var connection = await NodeConnection.ConnectAsync("127.0.0.1", server.BoundEndpoints[0].Port, "test", TimeSpan.FromSeconds(5), CancellationToken.None);
        var response = await FindCoordinatorAsync(connection, "some-group");
        Assert.Equal((short)Gregor.Protocol.ErrorCode.CoordinatorNotAvailable, response.ErrorCode);
        Assert.False(server.Metadata.TryGetTopic("__consumer_offsets", out _));

        // With the third broker back, the offsets topic (replication factor 3) is created and the
        // coordinator is the leader of the group's partition.
        await cluster.StartNodeAsync(victim);
        await cluster.WaitForBrokersAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        short error;
        do
        {
            var again = await FindCoordinatorAsync(connection, "some-group");
            error = again.ErrorCode;
            if (error == 0)
            {
                Assert.True(server.Metadata.TryGetTopic("__consumer_offsets", out var offsets));
                Assert.Equal(3, offsets.ReplicationFactor);
                break;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(0, error);

        // Every broker names the same coordinators: the leaders of the keys' internal partitions.
        var groupCoordinators = new HashSet<int>();
        var transactionCoordinators = new HashSet<int>();
        foreach (var each in cluster.RunningServers)
        {
            await using var direct = await NodeConnection.ConnectAsync("127.0.0.1", each.BoundEndpoints[0].Port, "test", TimeSpan.FromSeconds(5), CancellationToken.None);
            var group = await RetryAsync(() => FindCoordinatorAsync(direct, "some-group"));
            Assert.Equal(0, group.ErrorCode);
            groupCoordinators.Add(group.NodeId);

            // The first transactional lookup creates __transaction_state: retriable errors until its leaders exist.
            var transaction = await RetryAsync(() => direct.SendAsync<FindCoordinatorResponse>(
                new FindCoordinatorRequest { Key = "some-transaction", KeyType = 1 }, 3, TimeSpan.FromSeconds(10), CancellationToken.None));
            Assert.Equal(0, transaction.ErrorCode);
            transactionCoordinators.Add(transaction.NodeId);
        }

        Assert.True(server.Metadata.TryGetTopic("__transaction_state", out var transactionState));
        Assert.Equal(3, transactionState.ReplicationFactor);
        var expected = transactionState.Partitions[Gregor.Broker.Transactions.ReplicaTransactionStateLog.PartitionFor("some-transaction", transactionState.Partitions.Count)].LeaderId;
        Assert.Equal([expected], transactionCoordinators);
        Assert.Single(groupCoordinators);
    }

    /// <summary>Repeats a FindCoordinator while it answers a retriable error (as clients do), for up to 15 s.</summary>
    private static async Task<FindCoordinatorResponse> RetryAsync(Func<Task<FindCoordinatorResponse>> find)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var response = await find();
            if (response.ErrorCode == 0 || DateTime.UtcNow > deadline)
            {
                return response;
            }

            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task ControlledShutdownMovesLeadershipAwayAndAKilledBrokerIsFencedAfterItsSession()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "moving", NumPartitions = 3, ReplicationFactor = 3 }]);
        }

        var controller = await cluster.WaitForActiveControllerAsync();
        var leaving = cluster.NodeIds.First(id => id != controller);
        var observer = cluster.Server(controller);
        Assert.True(await ClusterWaits.WaitUntilAsync(() => observer.Metadata.TryGetTopic("moving", out _)));
        observer.Metadata.TryGetTopic("moving", out var before);
        Assert.Contains(before.Partitions, p => p.LeaderId == leaving);

        // The stop returns after the controller moved the leaderships away: no waiting here.
        await cluster.StopNodeAsync(leaving);
        observer.Metadata.TryGetTopic("moving", out var after);
        foreach (var (old, now) in before.Partitions.Zip(after.Partitions))
        {
            Assert.NotEqual(leaving, now.LeaderId);
            Assert.DoesNotContain(leaving, now.Isr);
            Assert.Equal(old.LeaderId == leaving ? old.LeaderEpoch + 1 : old.LeaderEpoch, now.LeaderEpoch);
        }

        Assert.DoesNotContain(observer.Metadata.AliveBrokers, b => b.NodeId == leaving);

        // A preferred election cannot hand the partitions back while that broker is away.
        using (var admin = Clients.Admin(observer.BootstrapServers))
        {
            var moved = after.Partitions.Where(p => before.Partitions[p.PartitionIndex].LeaderId == leaving)
                .Select(p => new TopicPartition("moving", p.PartitionIndex)).ToList();
            var failure = await Assert.ThrowsAsync<ElectLeadersException>(() => admin.ElectLeadersAsync(ElectionType.Preferred, moved));
            Assert.All(failure.Results.TopicPartitions, r => Assert.Equal(Confluent.Kafka.ErrorCode.PreferredLeaderNotAvailable, r.Error.Code));
        }

        // The broker comes back (registered and unfenced again); then another one is killed (no
        // controlled shutdown): it keeps its places until broker.session.timeout.ms (4 s here).
        await cluster.StartNodeAsync(leaving);
        await cluster.WaitForBrokersAsync();
        var killed = cluster.NodeIds.First(id => id != controller && id != leaving);
        await cluster.KillNodeAsync(killed);
        Assert.Contains(observer.Metadata.AliveBrokers, b => b.NodeId == killed);
        Assert.True(await ClusterWaits.WaitUntilAsync(() => observer.Metadata.AliveBrokers.All(b => b.NodeId != killed), TimeSpan.FromSeconds(15)));
        observer.Metadata.TryGetTopic("moving", out var fenced);
        Assert.All(fenced.Partitions, p =>
        {
            Assert.NotEqual(killed, p.LeaderId);
            Assert.NotEqual(-1, p.LeaderId);
            Assert.DoesNotContain(killed, p.Isr);
        });
    }

    [Fact]
    public async Task PreferredElectionsThroughAnyBrokerReportThatNoneIsNeeded()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        using var admin = Clients.Admin(cluster.BootstrapServers);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "balanced", NumPartitions = 3, ReplicationFactor = 3 }]);
        foreach (var server in cluster.RunningServers)
        {
            using var direct = Clients.Admin(server.BootstrapServers);
            var failure = await Assert.ThrowsAsync<ElectLeadersException>(() =>
                direct.ElectLeadersAsync(ElectionType.Preferred, [new TopicPartition("balanced", 0), new TopicPartition("balanced", 2)]));
            Assert.Equal(2, failure.Results.TopicPartitions.Count);
            Assert.All(failure.Results.TopicPartitions, r => Assert.Equal(Confluent.Kafka.ErrorCode.ElectionNotNeeded, r.Error.Code));
        }

        // Producer ids come in blocks from the controller (AllocateProducerIds): unique cluster-wide.
        var ids = new List<long>();
        foreach (var server in cluster.RunningServers)
        {
            await using var connection = await NodeConnection.ConnectAsync("127.0.0.1", server.BoundEndpoints[0].Port, "test", TimeSpan.FromSeconds(5), CancellationToken.None);
            for (var i = 0; i < 2; i++)
            {
                var response = await connection.SendAsync<InitProducerIdResponse>(
                    new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60000 }, 4, TimeSpan.FromSeconds(10), CancellationToken.None);
                Assert.Equal(0, response.ErrorCode);
                ids.Add(response.ProducerId);
            }
        }

        Assert.Equal(6, ids.Distinct().Count());
    }

    [Fact]
    public async Task AdminWritesThroughABrokerThatIsNotTheControllerReachEveryBroker()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        var controller = await cluster.WaitForActiveControllerAsync();
        var other = cluster.RunningServers.First(s => s.NodeId != controller);
        using var admin = Clients.Admin(other.BootstrapServers);

        await admin.CreateTopicsAsync([new TopicSpecification { Name = "admin-writes", NumPartitions = 2, ReplicationFactor = 2 }]);
        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [new ConfigResource { Type = ResourceType.Topic, Name = "admin-writes" }] =
                [new ConfigEntry { Name = "retention.ms", Value = "3600000", IncrementalOperation = AlterConfigOpType.Set }],
        });
        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "admin-writes", IncreaseTo = 4 }]);
        // Every broker knows the four partitions and the altered config; every replica hosts its
        // partitions with that config (applied just after the metadata is published).
        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.RunningServers.All(s =>
            s.Metadata.TryGetTopic("admin-writes", out var t) && t.Partitions.Count == 4 && t.Configs.GetValueOrDefault("retention.ms") == "3600000"
            && t.Partitions.Where(p => p.Replicas.Contains(s.NodeId))
                .All(p => s.ReplicaManager.GetPartition("admin-writes", p.PartitionIndex)?.Log.Config.RetentionMs == 3600000))));
        Assert.Equal(8, cluster.RunningServers.Sum(s => Enumerable.Range(0, 4).Count(p => s.ReplicaManager.GetPartition("admin-writes", p) is not null)));

        await admin.DeleteTopicsAsync(["admin-writes"]);
        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.RunningServers.All(s =>
            !s.Metadata.TryGetTopic("admin-writes", out _) && s.ReplicaManager.GetPartition("admin-writes", 0) is null)));
    }

    [Fact]
    public async Task TheWholeClusterRestartsFromItsMetadataLog()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "durable", NumPartitions = 3, ReplicationFactor = 3 }]);
        }

        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.RunningServers.All(s => s.Metadata.TryGetTopic("durable", out _))));
        cluster.RunningServers[0].Metadata.TryGetTopic("durable", out var before);
        var clusterId = cluster.RunningServers[0].Metadata.ClusterId;

        // One by one down (the last ones without a quorum to talk to), then all up again.
        foreach (var id in cluster.NodeIds)
        {
            await cluster.StopNodeAsync(id);
        }

        await Task.WhenAll(cluster.NodeIds.Select(cluster.StartNodeAsync));
        await cluster.WaitForBrokersAsync(TimeSpan.FromSeconds(30));
        await cluster.WaitForActiveControllerAsync();
        foreach (var server in cluster.RunningServers)
        {
            Assert.Equal(clusterId, server.Metadata.ClusterId);
            Assert.True(await ClusterWaits.WaitUntilAsync(() => server.Metadata.TryGetTopic("durable", out var t) && t.Partitions.All(p => p.LeaderId >= 0)));
            server.Metadata.TryGetTopic("durable", out var after);
            Assert.Equal(before.TopicId, after.TopicId);
            Assert.Equal(3, after.Partitions.Count);
        }

        using var again = Clients.Admin(cluster.BootstrapServers);
        await again.CreateTopicsAsync([new TopicSpecification { Name = "after-restart", NumPartitions = 1, ReplicationFactor = 3 }]);
    }

    private static Task<FindCoordinatorResponse> FindCoordinatorAsync(NodeConnection connection, string group) =>
        connection.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = group, KeyType = 0 }, 3, TimeSpan.FromSeconds(10), CancellationToken.None);

    private static async Task<Confluent.Kafka.Metadata> WaitForTopicAsync(IAdminClient admin, string topic)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            if (metadata.Topics.Any(t => t.Topic == topic && t.Error.Code == Confluent.Kafka.ErrorCode.NoError && t.Partitions.All(p => p.Leader >= 0)))
            {
                return metadata;
            }

            if (DateTime.UtcNow > deadline)
            {
                return metadata;
            }

            await Task.Delay(100);
        }
    }
}
