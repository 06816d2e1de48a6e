using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>
/// The group coordinator moves with the leadership of its <c>__consumer_offsets</c> partition: after
/// the coordinating broker dies, the new leader loads the group and serves its committed offsets.
/// </summary>
public sealed class CoordinatorFailoverTests
{
    [Fact]
    public async Task CommittedOffsetsSurviveTheDeathOfTheGroupCoordinator()
    {
        const string topic = "failover-in";
        const string group = "failover-group";
        await using var cluster = await InProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["offsets.topic.num.partitions"] = "3",
            ["broker.session.timeout.ms"] = "3000",
        });
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        }

        var producerConfig = Clients.ProducerConfig(cluster.BootstrapServers);
        producerConfig.Acks = Acks.All;
        using (var producer = new ProducerBuilder<Null, string>(producerConfig).Build())
        {
            for (var i = 0; i < 100; i++)
            {
                await producer.ProduceAsync(topic, new Message<Null, string> { Value = $"v{i}" });
            }
        }

        var consumerConfig = Clients.ConsumerConfig(cluster.BootstrapServers, group);
        consumerConfig.EnableAutoCommit = false;
        consumerConfig.AutoOffsetReset = AutoOffsetReset.Earliest;
        using (var consumer = new ConsumerBuilder<Null, string>(consumerConfig).Build())
        {
            consumer.Subscribe(topic);
            ConsumeResult<Null, string>? last = null;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((last is null || last.Offset < 39) && DateTime.UtcNow < deadline)
            {
                last = consumer.Consume(TimeSpan.FromSeconds(1)) ?? last;
            }

            Assert.NotNull(last);
            Assert.Equal(39, last.Offset.Value);
            consumer.Commit([new TopicPartitionOffset(topic, 0, 40)]);
            consumer.Close();
        }

        int coordinator;
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            var description = await admin.DescribeConsumerGroupsAsync([group]);
            coordinator = Assert.Single(description.ConsumerGroupDescriptions).Coordinator.Id;
        }

        await cluster.KillNodeAsync(coordinator);
        var survivors = string.Join(",", cluster.RunningServers.Select(s => s.BootstrapServers));

        // Once the coordinator's session expires, its __consumer_offsets partition gets a new
        // leader, which must answer with the offset committed through the dead one.
        var resumeConfig = Clients.ConsumerConfig(survivors, group);
        resumeConfig.EnableAutoCommit = false;
        resumeConfig.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var resumed = new ConsumerBuilder<Null, string>(resumeConfig).Build();
        resumed.Subscribe(topic);
        ConsumeResult<Null, string>? first = null;
        var until = DateTime.UtcNow.AddSeconds(60);
        while (first is null && DateTime.UtcNow < until)
        {
            first = resumed.Consume(TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(first);
        Assert.Equal(40, first.Offset.Value);
        Assert.Equal("v40", first.Message.Value);

        using (var admin = Clients.Admin(survivors))
        {
            var description = await admin.DescribeConsumerGroupsAsync([group]);
            Assert.NotEqual(coordinator, Assert.Single(description.ConsumerGroupDescriptions).Coordinator.Id);
        }

        resumed.Close();
    }
}
