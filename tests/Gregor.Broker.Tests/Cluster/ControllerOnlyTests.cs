using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>
/// A cluster with separate roles, as KRaft production clusters run: three controller-only voters
/// (nodes 1–3) and two broker-only observers (nodes 4 and 5).
/// </summary>
public sealed class ControllerOnlyTests
{
    [Fact]
    public async Task BrokersReachControllerOnlyNodesAndOnlyBrokersHostData()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, brokerOnly: 2, controllerOnly: true);
        await cluster.WaitForBrokersAsync();
        var active = await cluster.WaitForActiveControllerAsync();
        Assert.InRange(active, 1, 3);
        var brokers = string.Join(",", new[] { 4, 5 }.Select(id => cluster.Server(id).BootstrapServers));

        // Clients see only the brokers; the controller they are told about is a broker that forwards.
        using (var admin = Clients.Admin(brokers))
        {
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(5));
            Assert.Equal([4, 5], metadata.Brokers.Select(b => b.BrokerId).Order());
            var described = await admin.DescribeClusterAsync();
            Assert.Contains(described.Controller.Id, new[] { 4, 5 });
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "roles", NumPartitions = 4, ReplicationFactor = 2 }]);
        }

        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.Server(4).Metadata.TryGetTopic("roles", out _) && cluster.Server(5).Metadata.TryGetTopic("roles", out _), TimeSpan.FromSeconds(20)));
        Assert.True(cluster.Server(4).Metadata.TryGetTopic("roles", out var topic));
        Assert.All(topic.Partitions, p => Assert.Equal([4, 5], p.Replicas.Order()));

        var producerConfig = Clients.ProducerConfig(brokers);
        producerConfig.Acks = Acks.All;
        using (var producer = new ProducerBuilder<Null, string>(producerConfig).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                await producer.ProduceAsync(new TopicPartition("roles", 0), new Message<Null, string> { Value = $"r{i}" });
            }
        }

        var records = Clients.ReadAll(brokers, "roles", 4, TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"r{i}"), records.Select(r => System.Text.Encoding.UTF8.GetString(r.Message.Value!)));

        // The active controller dies: a new one is elected among the other two and registers its
        // endpoints, so topic creation through a broker works again.
        await cluster.StopNodeAsync(active);
        var second = await cluster.WaitForActiveControllerAsync(TimeSpan.FromSeconds(15));
        Assert.NotEqual(active, second);
        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.Server(4).Controller.Image.Controllers.ContainsKey(second), TimeSpan.FromSeconds(20)));
        using (var admin = Clients.Admin(brokers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "roles-after", NumPartitions = 2, ReplicationFactor = 2 }]);
        }

        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.Server(5).Metadata.TryGetTopic("roles-after", out _), TimeSpan.FromSeconds(20)));
    }
}
