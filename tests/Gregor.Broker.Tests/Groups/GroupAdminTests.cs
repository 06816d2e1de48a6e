using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>What operators do with groups through the admin API: list, describe, lag, delete offsets, delete groups.</summary>
public class GroupAdminTests
{
    [Fact]
    public async Task GroupsAreListedDescribedAndTheirLagAndOffsetsManaged()
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 2);
        await Clients.CreateTopicAsync(broker.BootstrapServers, "old-orders", 1);
        await GroupClients.ProduceAsync(broker.BootstrapServers, "orders", 2, 10);
        using var admin = Clients.Admin(broker.BootstrapServers);

        using var classic = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "billing", GroupProtocolKind.Classic, "billing-client"));
        classic.Subscribe("orders");
        GroupClients.PollUntil([classic], a => a[0].Count == 2, TimeSpan.FromSeconds(30), "billing assigned");
        classic.Commit([new TopicPartitionOffset("orders", 0, 4), new TopicPartitionOffset("orders", 1, 10), new TopicPartitionOffset("old-orders", 0, 1)]);

        using var kip848 = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "shipping", GroupProtocolKind.Consumer));
        kip848.Subscribe("orders");
        GroupClients.PollUntil([kip848, classic], a => a[0].Count == 2, TimeSpan.FromSeconds(30), "shipping assigned");

        var listed = await admin.ListConsumerGroupsAsync();
        var billing = Assert.Single(listed.Valid, g => g.GroupId == "billing");
        Assert.Equal(ConsumerGroupState.Stable, billing.State);
        Assert.False(billing.IsSimpleConsumerGroup);
        Assert.Single(listed.Valid, g => g.GroupId == "shipping");

        var stableOnly = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { MatchStates = [ConsumerGroupState.Empty] });
        Assert.DoesNotContain(stableOnly.Valid, g => g.GroupId == "billing");

        var described = await admin.DescribeConsumerGroupsAsync(["billing"]);
        var description = Assert.Single(described.ConsumerGroupDescriptions);
        Assert.Equal(ConsumerGroupState.Stable, description.State);
        Assert.Equal("range", description.PartitionAssignor);
        var member = Assert.Single(description.Members);
        Assert.Equal("billing-client", member.ClientId);
        Assert.Equal(2, member.Assignment.TopicPartitions.Count);

        // A KIP-848 group is described too (librdkafka uses ConsumerGroupDescribe for it).
        var kip848Described = Assert.Single((await admin.DescribeConsumerGroupsAsync(["shipping"])).ConsumerGroupDescriptions);
        Assert.Equal(ConsumerGroupState.Stable, kip848Described.State);
        Assert.Equal(2, Assert.Single(kip848Described.Members).Assignment.TopicPartitions.Count);

        // Lag = log end - committed offset, per partition.
        var committed = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions("billing", null)]);
        var offsets = Assert.Single(committed).Partitions.ToDictionary(p => $"{p.Topic}-{p.Partition.Value}", p => p.Offset.Value);
        Assert.Equal(4, offsets["orders-0"]);
        Assert.Equal(10, offsets["orders-1"]);
        var high = classic.QueryWatermarkOffsets(new TopicPartition("orders", 0), TimeSpan.FromSeconds(10)).High.Value;
        Assert.Equal(6, high - offsets["orders-0"]);

        // Offsets of a topic the group still reads cannot be deleted; the others can.
        var error = await Assert.ThrowsAsync<DeleteConsumerGroupOffsetsException>(() =>
            admin.DeleteConsumerGroupOffsetsAsync("billing", [new TopicPartition("orders", 0)]));
        Assert.Equal(ErrorCode.GroupSubscribedToTopic, error.Result.Partitions[0].Error.Code);
        await admin.DeleteConsumerGroupOffsetsAsync("billing", [new TopicPartition("old-orders", 0)]);
        var afterDelete = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions("billing", [new TopicPartition("old-orders", 0)])]);
        Assert.Equal(Offset.Unset, afterDelete[0].Partitions[0].Offset);

        // A group with members cannot be deleted; once they leave, it can, with its offsets.
        await Assert.ThrowsAsync<DeleteGroupsException>(() => admin.DeleteGroupsAsync(["billing"]));
        classic.Close();
        await admin.DeleteGroupsAsync(["billing"]);
        var gone = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions("billing", [new TopicPartition("orders", 0)])]);
        Assert.Equal(Offset.Unset, gone[0].Partitions[0].Offset);
        Assert.DoesNotContain((await admin.ListConsumerGroupsAsync()).Valid, g => g.GroupId == "billing");
    }
}
