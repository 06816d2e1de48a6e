using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator.Tests;

/// <summary>Byte-exact checks of the __consumer_offsets formats, so Kafka's tools read what Gregor writes.</summary>
public sealed class RecordFormatTests
{
    [Fact]
    public void Offset_commit_key_and_value_v3_bytes()
    {
        var record = GroupCoordinatorRecords.OffsetCommit(new OffsetCommitKey("g", "t", 2), new OffsetCommitValue(5, 1, "m", 0x0102));
        Assert.Equal(new byte[] { 0, 1, 0, 1, (byte)'g', 0, 1, (byte)'t', 0, 0, 0, 2 }, record.Key);
        Assert.Equal(
            new byte[] { 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 1, (byte)'m', 0, 0, 0, 0, 0, 0, 1, 2 },
            record.Value);
        Assert.True(GroupCoordinatorRecords.TryDecode(record, out var decoded));
        Assert.Equal(new OffsetCommitValue(5, 1, "m", 0x0102), decoded.Value);
    }

    [Fact]
    public void Offset_commit_value_v1_carries_the_expire_timestamp()
    {
        var record = GroupCoordinatorRecords.OffsetCommit(new OffsetCommitKey("g", "t", 0), new OffsetCommitValue(5, -1, string.Empty, 10, 20));
        Assert.Equal(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 20 }, record.Value);
        Assert.True(GroupCoordinatorRecords.TryDecode(record, out var decoded));
        Assert.Equal(20, ((OffsetCommitValue)decoded.Value!).ExpireTimestamp);
    }

    [Fact]
    public void Group_metadata_value_v3_bytes_and_round_trip()
    {
        var value = new GroupMetadataValue("consumer", 3, "range", "m", 7, [new GroupMetadataMember("m", null, "c", "h", 100, 200, [9], [8])]);
        var record = GroupCoordinatorRecords.GroupMetadata("g", value);
        Assert.Equal(new byte[] { 0, 2, 0, 1, (byte)'g' }, record.Key);
        byte[] expected =
        [
            0, 3,
            0, 8, .. "consumer"u8,
            0, 0, 0, 3,
            0, 5, .. "range"u8,
            0, 1, (byte)'m',
            0, 0, 0, 0, 0, 0, 0, 7,
            0, 0, 0, 1,
            0, 1, (byte)'m', 0xFF, 0xFF, 0, 1, (byte)'c', 0, 1, (byte)'h', 0, 0, 0, 100, 0, 0, 0, 200, 0, 0, 0, 1, 9, 0, 0, 0, 1, 8,
        ];
        Assert.Equal(expected, record.Value);
        Assert.True(GroupCoordinatorRecords.TryDecode(record, out var decoded));
        var back = (GroupMetadataValue)decoded.Value!;
        Assert.Equal("range", back.Protocol);
        Assert.Equal(new byte[] { 8 }, back.Members[0].Assignment);
        Assert.Null(back.Members[0].GroupInstanceId);
    }

    [Fact]
    public void Consumer_group_records_are_flexible_version_0()
    {
        var topic = new Uuid(1, 2);
        var record = GroupCoordinatorRecords.ConsumerGroupCurrentMemberAssignment("g", "m", new ConsumerGroupCurrentMemberAssignmentValue(4, 3, 0, [new TopicPartitions(topic, [0, 1])], []));
        Assert.Equal(new byte[] { 0, 8, 0, 1, (byte)'g', 0, 1, (byte)'m' }, record.Key);
        byte[] expected =
        [
            0, 0,
            0, 0, 0, 4,
            0, 0, 0, 3,
            0,
            2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0,
            1,
            0,
        ];
        Assert.Equal(expected, record.Value);
        Assert.True(GroupCoordinatorRecords.TryDecode(record, out var decoded));
        var back = (ConsumerGroupCurrentMemberAssignmentValue)decoded.Value!;
        Assert.Equal([0, 1], back.AssignedPartitions[0].Partitions);

        var tombstone = GroupCoordinatorRecords.ConsumerGroupMetadata("g", null);
        Assert.Equal(new byte[] { 0, 3, 0, 1, (byte)'g' }, tombstone.Key);
        Assert.Null(tombstone.Value);
    }

    [Fact]
    public void Group_metadata_value_v4_flexible_written_by_newer_kafka_is_read()
    {
        byte[] v4 =
        [
            0, 4,
            9, .. "consumer"u8,
            0, 0, 0, 1,
            6, .. "range"u8,
            0,
            0, 0, 0, 0, 0, 0, 0, 1,
            1,
            0,
        ];
        var record = new CoordinatorRecord([0, 2, 0, 1, (byte)'g'], v4);
        Assert.True(GroupCoordinatorRecords.TryDecode(record, out var decoded));
        var value = (GroupMetadataValue)decoded.Value!;
        Assert.Equal("consumer", value.ProtocolType);
        Assert.Null(value.Leader);
        Assert.Empty(value.Members);
    }
}
