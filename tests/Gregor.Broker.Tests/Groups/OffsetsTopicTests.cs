using Confluent.Kafka;
using Gregor.Coordinator;
using Gregor.Coordinator.Records;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>__consumer_offsets is an ordinary readable topic holding Kafka's own record formats, so Kafka's tools can read it.</summary>
public class OffsetsTopicTests
{
    [Fact]
    public async Task CommitsAndGroupMetadataAreReadableFromTheOffsetsTopic()
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 2);
        using (var consumer = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "auditors", GroupProtocolKind.Classic)))
        {
            consumer.Subscribe("orders");
            GroupClients.PollUntil([consumer], a => a[0].Count == 2, TimeSpan.FromSeconds(30), "assigned");
            consumer.Commit([new TopicPartitionOffset("orders", 1, 17)]);
            consumer.Close();
        }

        using var admin = Clients.Admin(broker.BootstrapServers);
        var metadata = admin.GetMetadata(GroupPartitioner.OffsetsTopicName, TimeSpan.FromSeconds(10));
        var topic = Assert.Single(metadata.Topics);
        Assert.Equal(5, topic.Partitions.Count);

        // The group's records are in partition abs(hash("auditors")) % 5, in Kafka's formats.
        var records = Clients.ReadAll(broker.BootstrapServers, GroupPartitioner.OffsetsTopicName, 5, TimeSpan.FromSeconds(20));
        var expectedPartition = GroupPartitioner.PartitionFor("auditors", 5);
        Assert.All(records, r => Assert.Equal(expectedPartition, r.Partition.Value));
        var decoded = records.Select(r =>
        {
            Assert.True(GroupCoordinatorRecords.TryDecode(new CoordinatorRecord(r.Message.Key!, r.Message.Value), out var d));
            return d;
        }).ToList();
        var commit = Assert.Single(decoded, d => d.Key is OffsetCommitKey);
        Assert.Equal(new OffsetCommitKey("auditors", "orders", 1), commit.Key);
        Assert.Equal(17, ((OffsetCommitValue)commit.Value!).Offset);
        var group = decoded.Last(d => d.Key is GroupMetadataKey);
        var value = (GroupMetadataValue)group.Value!;
        Assert.Equal("consumer", value.ProtocolType);
        Assert.Empty(value.Members);
        Assert.Equal(2, value.Generation);
    }

    [Fact]
    public async Task GroupsKeepTheirPartitionWhenTheConfiguredPartitionCountChanges()
    {
        using var data = new TempDirectory("gregor-offsets-count");
        await using (var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides(), data.Path))
        {
            await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 1);
            using var consumer = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "steady", GroupProtocolKind.Classic));
            consumer.Subscribe("orders");
            GroupClients.PollUntil([consumer], a => a[0].Count == 1, TimeSpan.FromSeconds(30), "assigned");
            consumer.Commit([new TopicPartitionOffset("orders", 0, 3)]);
            consumer.Close();
        }

        // The topic has 5 partitions; a new config value must not move the group elsewhere.
        var overrides = GroupClients.BrokerOverrides();
        overrides["offsets.topic.num.partitions"] = "7";
        await using var restarted = await InProcessBroker.StartAsync(overrides, data.Path);
        using var admin = Clients.Admin(restarted.BootstrapServers);
        var committed = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions("steady", [new TopicPartition("orders", 0)])]);
        Assert.Equal(3, committed[0].Partitions[0].Offset.Value);
    }
}
