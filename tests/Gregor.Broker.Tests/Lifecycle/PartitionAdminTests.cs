using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Broker.Tests.Handlers;

using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;
using static Gregor.Broker.Tests.Lifecycle.LifecycleHelpers;

namespace Gregor.Broker.Tests.Lifecycle;

public sealed class PartitionAdminTests
{
    [Fact]
    public async Task CreatePartitionsFromThreeToSixKeepsDataAndNewOnesTakeWrites()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "grow", 3);
        for (var p = 0; p < 3; p++)
        {
            await ProduceAsync(bs, "grow", p, 5, prefix: $"p{p}-");
        }

        using var admin = Clients.Admin(bs);
        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "grow", IncreaseTo = 6 }],
            new CreatePartitionsOptions { ValidateOnly = true });
        Assert.Equal(3, admin.GetMetadata("grow", TimeSpan.FromSeconds(10)).Topics[0].Partitions.Count);

        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "grow", IncreaseTo = 6 }]);
        var metadata = await EventuallyAsync(() => admin.GetMetadata("grow", TimeSpan.FromSeconds(10)).Topics[0],
            t => t.Partitions.Count == 6, TimeSpan.FromSeconds(10));
        Assert.Equal(6, metadata.Partitions.Count);

        for (var p = 3; p < 6; p++)
        {
            await ProduceAsync(bs, "grow", p, 2, prefix: $"p{p}-");
        }

        var all = Clients.ReadAll(bs, "grow", 6, TimeSpan.FromSeconds(30));
        for (var p = 0; p < 6; p++)
        {
            var records = all.Where(r => r.Partition.Value == p).OrderBy(r => r.Offset.Value).ToList();
            Assert.Equal(p < 3 ? 5 : 2, records.Count);
            Assert.StartsWith($"p{p}-0-", System.Text.Encoding.UTF8.GetString(records[0].Message.Value!));
        }

        // Never removes: a smaller or equal count is INVALID_PARTITIONS.
        var shrink = await Assert.ThrowsAsync<CreatePartitionsException>(() =>
            admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "grow", IncreaseTo = 4 }]));
        Assert.Equal(ErrorCode.InvalidPartitions, shrink.Results.Single().Error.Code);

        // Explicit assignments must name registered brokers, one list per new partition.
        var badBroker = await Assert.ThrowsAsync<CreatePartitionsException>(() =>
            admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "grow", IncreaseTo = 7, ReplicaAssignments = [[99]] }]));
        Assert.Equal(ErrorCode.InvalidReplicaAssignment, badBroker.Results.Single().Error.Code);
        var unknownTopic = await Assert.ThrowsAsync<CreatePartitionsException>(() =>
            admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "no-such-topic", IncreaseTo = 2 }]));
        Assert.Equal(ErrorCode.UnknownTopicOrPart, unknownTopic.Results.Single().Error.Code);
        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "grow", IncreaseTo = 7, ReplicaAssignments = [[1]] }]);
        Assert.Equal(7, broker.Server.Metadata.Topics.Single(t => t.Name == "grow").Partitions.Count);

        await broker.RestartAsync();
        Assert.Equal(7, broker.Server.Metadata.Topics.Single(t => t.Name == "grow").Partitions.Count);
        Assert.Equal(2, broker.Server.ReplicaManager.GetPartition("grow", 5)!.Log.LogEndOffset);
    }

    [Fact]
    public async Task DescribeLogDirsReportsPartitionSizes()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "sizes", 2);
        await ProduceAsync(bs, "sizes", 0, 10);
        await using var client = await WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
        for (short version = 0; version <= 4; version++)
        {
            var response = await client.SendAsync<DescribeLogDirsResponse>(new DescribeLogDirsRequest
            {
                Topics = [new DescribeLogDirsRequest.DescribableLogDirTopic { Topic = "sizes", Partitions = [0, 1] }],
            }, version);
            var dir = Assert.Single(response.Results);
            Assert.Equal(0, dir.ErrorCode);
            Assert.Equal(Path.GetFullPath(broker.DataDirectory).TrimEnd('/'), dir.LogDir);
            var topic = Assert.Single(dir.Topics);
            Assert.Equal("sizes", topic.Name);
            var p0 = topic.Partitions.Single(p => p.PartitionIndex == 0);
            var p1 = topic.Partitions.Single(p => p.PartitionIndex == 1);
            Assert.Equal(broker.Server.ReplicaManager.GetPartition("sizes", 0)!.Log.Size, p0.PartitionSize);
            Assert.True(p0.PartitionSize > 10 * 80);
            Assert.Equal(0, p1.PartitionSize);
            if (version >= 4)
            {
                Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0);
            }
        }

        // All partitions when no topics are given.
        var all = await client.SendAsync<DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, 2);
        Assert.Contains(all.Results[0].Topics, t => t.Name == "sizes" && t.Partitions.Count == 2);
    }
}
