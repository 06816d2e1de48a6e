using Gregor.Metadata.Image;
using Gregor.Metadata.Records;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

public sealed class MetadataImageTests
{
    private static readonly Uuid OrdersId = new(0x1111, 0x2222);

    private static List<MetadataRecord> ClusterOfTwoWithOneTopic() =>
    [
        MetadataRecord.Of(new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 25 }),
        MetadataRecord.Of(new RegisterBrokerRecord
        {
            BrokerId = 1, BrokerEpoch = 10, IncarnationId = new Uuid(1, 1), Fenced = true,
            EndPoints = [new RegisterBrokerRecord.BrokerEndpoint { Name = "PLAINTEXT", Host = "localhost", Port = 9092 }],
        }),
        MetadataRecord.Of(new RegisterBrokerRecord { BrokerId = 2, BrokerEpoch = 11, IncarnationId = new Uuid(2, 2), Fenced = true }),
        MetadataRecord.Of(new UnfenceBrokerRecord { Id = 1, Epoch = 10 }),
        MetadataRecord.Of(new UnfenceBrokerRecord { Id = 2, Epoch = 11 }),
        MetadataRecord.Of(new TopicRecord { Name = "orders", TopicId = OrdersId }),
        MetadataRecord.Of(new PartitionRecord { PartitionId = 0, TopicId = OrdersId, Replicas = [1, 2], Isr = [1, 2], Leader = 1, LeaderEpoch = 0, PartitionEpoch = 0 }),
        MetadataRecord.Of(new PartitionRecord { PartitionId = 1, TopicId = OrdersId, Replicas = [2, 1], Isr = [2, 1], Leader = 2, LeaderEpoch = 0, PartitionEpoch = 0 }),
        MetadataRecord.Of(new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "cleanup.policy", Value = "compact" }),
        MetadataRecord.Of(new ProducerIdsRecord { BrokerId = 1, BrokerEpoch = 10, NextProducerId = 1000 }),
    ];

    private static MetadataImage Build(IEnumerable<MetadataRecord> records, long offset, MetadataImage? from = null)
    {
        var delta = new MetadataDelta(from ?? MetadataImage.Empty);
        delta.Replay(records);
        return delta.Apply(offset);
    }

    [Fact]
    public void RecordsRoundTripThroughKafkasFraming()
    {
        var record = MetadataRecord.Of(new TopicRecord { Name = "orders", TopicId = OrdersId });
        var bytes = MetadataRecordSerde.Serialize(record);

        // frame version 1, record type 2 (TopicRecord), version 0, then the flexible body.
        Assert.Equal(new byte[] { 1, 2, 0, 7, (byte)'o', (byte)'r', (byte)'d', (byte)'e', (byte)'r', (byte)'s' }, bytes[..10]);
        Assert.Equal(10 + 16 + 1, bytes.Length);
        var back = MetadataRecordSerde.Deserialize(bytes);
        var topic = Assert.IsType<TopicRecord>(back.Message);
        Assert.Equal("orders", topic.Name);
        Assert.Equal(OrdersId, topic.TopicId);
    }

    [Fact]
    public void AnEntryOfManyRecordsRoundTrips()
    {
        var records = ClusterOfTwoWithOneTopic();
        var back = MetadataRecordSerde.DeserializeEntry(MetadataRecordSerde.SerializeEntry(records));
        Assert.Equal(records.Select(r => r.RecordType), back.Select(r => r.RecordType));
        Assert.Equal(records.Select(r => MetadataRecordSerde.Serialize(r)), back.Select(r => MetadataRecordSerde.Serialize(r)));
    }

    [Fact]
    public void ReplayBuildsTopicsBrokersConfigsAndProducerIds()
    {
        var image = Build(ClusterOfTwoWithOneTopic(), offset: 9);

        Assert.Equal(9, image.Offset);
        Assert.Equal((short)25, image.Features["metadata.version"]);
        Assert.False(image.Brokers[1].Fenced);
        Assert.Equal(9092, Assert.Single(image.Brokers[1].Endpoints).Port);
        var orders = image.TopicsByName["orders"];
        Assert.True(image.TryGetTopic(OrdersId, out var byId));
        Assert.Same(orders, byId);
        Assert.Equal([1, 2], orders.Partitions[0].Replicas.ToArray());
        Assert.Equal(2, orders.Partitions[1].Leader);
        Assert.Equal("compact", image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "orders"))["cleanup.policy"]);
        Assert.Equal(1000, image.NextProducerId);
        Assert.True(MetadataImage.Empty.TopicsByName.IsEmpty);
    }

    [Fact]
    public void PartitionChangeBumpsLeaderEpochOnlyWhenTheLeaderChanges()
    {
        var image = Build(ClusterOfTwoWithOneTopic(), 9);

        var shrink = Build([MetadataRecord.Of(new PartitionChangeRecord { TopicId = OrdersId, PartitionId = 0, Isr = [1] })], 10, image);
        var p0 = shrink.TopicsByName["orders"].Partitions[0];
        Assert.Equal([1], p0.Isr.ToArray());
        Assert.Equal(1, p0.Leader);
        Assert.Equal(0, p0.LeaderEpoch);
        Assert.Equal(1, p0.PartitionEpoch);

        var moved = Build([MetadataRecord.Of(new PartitionChangeRecord { TopicId = OrdersId, PartitionId = 0, Leader = 2, Isr = [2] })], 11, shrink);
        p0 = moved.TopicsByName["orders"].Partitions[0];
        Assert.Equal(2, p0.Leader);
        Assert.Equal(1, p0.LeaderEpoch);
        Assert.Equal(2, p0.PartitionEpoch);

        // The earlier image is untouched: images are values.
        Assert.Equal(1, image.TopicsByName["orders"].Partitions[0].Leader);
        Assert.Equal(0, image.TopicsByName["orders"].Partitions[0].PartitionEpoch);
    }

    [Fact]
    public void FencingRemovingTopicsAndDeletingConfigs()
    {
        var image = Build(ClusterOfTwoWithOneTopic(), 9);
        var next = Build(
        [
            MetadataRecord.Of(new FenceBrokerRecord { Id = 2, Epoch = 11 }),
            MetadataRecord.Of(new ConfigRecord { ResourceType = 4, ResourceName = "1", Name = "log.retention.ms", Value = "1000" }),
            MetadataRecord.Of(new RemoveTopicRecord { TopicId = OrdersId }),
        ], 12, image);

        Assert.True(next.Brokers[2].Fenced);
        Assert.Empty(next.TopicsByName);
        Assert.Empty(next.TopicNamesById);
        Assert.False(next.Configs.ContainsKey(new ConfigResource(ConfigResourceType.Topic, "orders")));
        Assert.Equal("1000", next.ConfigsOf(new ConfigResource(ConfigResourceType.Broker, "1"))["log.retention.ms"]);

        var deleted = Build([MetadataRecord.Of(new ConfigRecord { ResourceType = 4, ResourceName = "1", Name = "log.retention.ms", Value = null })], 13, next);
        Assert.Empty(deleted.Configs);
    }

    [Fact]
    public void ReplayRejectsRecordsForUnknownThings()
    {
        var delta = new MetadataDelta(MetadataImage.Empty);
        Assert.Throws<InvalidDataException>(() => delta.Replay(new PartitionRecord { TopicId = OrdersId, PartitionId = 0 }));
        Assert.Throws<InvalidDataException>(() => delta.Replay(new FenceBrokerRecord { Id = 7, Epoch = 1 }));
        delta.Replay(new RegisterBrokerRecord { BrokerId = 7, BrokerEpoch = 3 });
        Assert.Throws<InvalidDataException>(() => delta.Replay(new UnfenceBrokerRecord { Id = 7, Epoch = 2 }));
    }

    [Fact]
    public void SnapshotsRoundTripAndTheNewestIsRead()
    {
        using var dir = new TempDirectory();
        var image = Build(ClusterOfTwoWithOneTopic(), 9);
        var later = Build([MetadataRecord.Of(new FenceBrokerRecord { Id = 2, Epoch = 11 })], 15, image);
        var first = MetadataSnapshot.Write(dir.Path, image, epoch: 1);
        MetadataSnapshot.Write(dir.Path, later, epoch: 2);

        Assert.Equal("00000000000000000009-0000000001.checkpoint", Path.GetFileName(first));
        var read = MetadataSnapshot.ReadLatest(dir.Path);
        Assert.NotNull(read);
        Assert.Equal(15, read.Offset);
        Assert.True(read.Brokers[2].Fenced);
        Assert.Equal(
            later.ToRecords().Select(r => Convert.ToHexString(MetadataRecordSerde.Serialize(r))),
            read.ToRecords().Select(r => Convert.ToHexString(MetadataRecordSerde.Serialize(r))));
    }

    [Fact]
    public void ACorruptSnapshotIsRefused()
    {
        var bytes = MetadataSnapshot.Serialize(Build(ClusterOfTwoWithOneTopic(), 9));
        bytes[30] ^= 0x40;
        Assert.Throws<InvalidDataException>(() => MetadataSnapshot.Deserialize(bytes));
        Assert.Null(MetadataSnapshot.ReadLatest(Path.Combine(Path.GetTempPath(), "gregor-no-such-dir-" + Guid.NewGuid())));
    }
}
