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
