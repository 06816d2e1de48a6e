using Gregor.Protocol;

namespace Gregor.Coordinator.Records;

/// <summary>
/// The key version of a <c>__consumer_offsets</c> record names its type (Kafka's
/// <c>CoordinatorRecordType</c>); these numbers are persisted and never change.
/// </summary>
public enum CoordinatorRecordType : short
{
    LegacyOffsetCommit = 0,
    OffsetCommit = 1,
    GroupMetadata = 2,
    ConsumerGroupMetadata = 3,
    ConsumerGroupPartitionMetadata = 4,
    ConsumerGroupMemberMetadata = 5,
    ConsumerGroupTargetAssignmentMetadata = 6,
    ConsumerGroupTargetAssignmentMember = 7,
    ConsumerGroupCurrentMemberAssignment = 8,
}

public sealed record OffsetCommitKey(string Group, string Topic, int Partition);

public sealed record OffsetCommitValue(long Offset, int LeaderEpoch, string Metadata, long CommitTimestamp, long ExpireTimestamp = -1);

public sealed record GroupMetadataKey(string Group);

public sealed record GroupMetadataMember(
    string MemberId,
    string? GroupInstanceId,
    string ClientId,
    string ClientHost,
    int RebalanceTimeout,
    int SessionTimeout,
    byte[] Subscription,
    byte[] Assignment);

public sealed record GroupMetadataValue(
    string ProtocolType,
    int Generation,
    string? Protocol,
    string? Leader,
    long CurrentStateTimestamp,
    IReadOnlyList<GroupMetadataMember> Members);

/// <summary>A KIP-848 key naming a group and, for member records, a member.</summary>
public sealed record ConsumerGroupRecordKey(CoordinatorRecordType Type, string GroupId, string? MemberId);

public sealed record ConsumerGroupMetadataValue(int Epoch);

public sealed record ConsumerGroupMemberMetadataValue(
    string? InstanceId,
    string? RackId,
    string ClientId,
    string ClientHost,
    IReadOnlyList<string> SubscribedTopicNames,
    string? SubscribedTopicRegex,
    int RebalanceTimeoutMs,
    string? ServerAssignor);

public sealed record ConsumerGroupTargetAssignmentMetadataValue(int AssignmentEpoch);

public sealed record TopicPartitions(Uuid TopicId, IReadOnlyList<int> Partitions);

public sealed record ConsumerGroupTargetAssignmentMemberValue(IReadOnlyList<TopicPartitions> TopicPartitions);

public sealed record ConsumerGroupCurrentMemberAssignmentValue(
    int MemberEpoch,
    int PreviousMemberEpoch,
    sbyte State,
    IReadOnlyList<TopicPartitions> AssignedPartitions,
    IReadOnlyList<TopicPartitions> PartitionsPendingRevocation);

/// <summary>A decoded <c>__consumer_offsets</c> record: its key and its value (null for a tombstone).</summary>
public readonly record struct DecodedRecord(CoordinatorRecordType Type, object Key, object? Value);

/// <summary>
/// Kafka's key and value formats of the group coordinator's records (the schemas in
/// <c>group-coordinator/</c>): a big-endian int16 version, then the fields. Keys are never flexible;
/// classic values are written at the versions Kafka 4 writes (GroupMetadataValue 3,
/// OffsetCommitValue 3, or 1 when an expire timestamp is set), KIP-848 values at version 0 (flexible).
/// </summary>
public static class GroupCoordinatorRecords
{
    public static CoordinatorRecord OffsetCommit(OffsetCommitKey key, OffsetCommitValue? value)
    {
        var k = new RecordWriter(flexible: false);
        k.Int16((short)CoordinatorRecordType.OffsetCommit);
        k.String(key.Group);
        k.String(key.Topic);
        k.Int32(key.Partition);
        return new CoordinatorRecord(k.ToArray(), value is null ? null : OffsetCommitValueBytes(value));
    }

    private static byte[] OffsetCommitValueBytes(OffsetCommitValue value)
    {
        short version = value.ExpireTimestamp >= 0 ? (short)1 : (short)3;
        var w = new RecordWriter(flexible: false);
        w.Int16(version);
        w.Int64(value.Offset);
        if (version >= 3)
        {
            w.Int32(value.LeaderEpoch);
        }

        w.String(value.Metadata);
        w.Int64(value.CommitTimestamp);
        if (version == 1)
        {
            w.Int64(value.ExpireTimestamp);
        }

        return w.ToArray();
    }

    public static CoordinatorRecord GroupMetadata(string groupId, GroupMetadataValue? value)
    {
        var k = new RecordWriter(flexible: false);
        k.Int16((short)CoordinatorRecordType.GroupMetadata);
        k.String(groupId);
        if (value is null)
        {
            return new CoordinatorRecord(k.ToArray(), null);
        }

        var w = new RecordWriter(flexible: false);
        w.Int16(3);
        w.String(value.ProtocolType);
        w.Int32(value.Generation);
        w.String(value.Protocol);
        w.String(value.Leader);
        w.Int64(value.CurrentStateTimestamp);
        w.ArrayLength(value.Members.Count);
        foreach (var m in value.Members)
        {
            w.String(m.MemberId);
            w.String(m.GroupInstanceId);
            w.String(m.ClientId);
            w.String(m.ClientHost);
            w.Int32(m.RebalanceTimeout);
            w.Int32(m.SessionTimeout);
            w.Bytes(m.Subscription);
            w.Bytes(m.Assignment);
        }

        return new CoordinatorRecord(k.ToArray(), w.ToArray());
    }

    private static byte[] ConsumerKey(CoordinatorRecordType type, string groupId, string? memberId)
    {
        var k = new RecordWriter(flexible: false);
        k.Int16((short)type);
        k.String(groupId);
        if (memberId is not null)
        {
            k.String(memberId);
        }

        return k.ToArray();
    }

    private static RecordWriter FlexibleValue()
    {
        var w = new RecordWriter(flexible: true);
        w.Int16(0);
        return w;
    }

    public static CoordinatorRecord ConsumerGroupMetadata(string groupId, ConsumerGroupMetadataValue? value)
    {
        var key = ConsumerKey(CoordinatorRecordType.ConsumerGroupMetadata, groupId, null);
        if (value is null)
        {
            return new CoordinatorRecord(key, null);
        }

        var w = FlexibleValue();
        w.Int32(value.Epoch);
        w.NoTaggedFields();
        return new CoordinatorRecord(key, w.ToArray());
    }

    public static CoordinatorRecord ConsumerGroupMemberMetadata(string groupId, string memberId, ConsumerGroupMemberMetadataValue? value)
    {
        var key = ConsumerKey(CoordinatorRecordType.ConsumerGroupMemberMetadata, groupId, memberId);
        if (value is null)
        {
            return new CoordinatorRecord(key, null);
        }

        var w = FlexibleValue();
        w.String(value.InstanceId);
        w.String(value.RackId);
        w.String(value.ClientId);
        w.String(value.ClientHost);
        w.StringArray([.. value.SubscribedTopicNames]);
        w.String(value.SubscribedTopicRegex);
        w.Int32(value.RebalanceTimeoutMs);
        w.String(value.ServerAssignor);
        w.NoTaggedFields();
        return new CoordinatorRecord(key, w.ToArray());
    }

    public static CoordinatorRecord ConsumerGroupTargetAssignmentMetadata(string groupId, ConsumerGroupTargetAssignmentMetadataValue? value)
    {
        var key = ConsumerKey(CoordinatorRecordType.ConsumerGroupTargetAssignmentMetadata, groupId, null);
        if (value is null)
        {
            return new CoordinatorRecord(key, null);
        }

        var w = FlexibleValue();
        w.Int32(value.AssignmentEpoch);
        w.NoTaggedFields();
        return new CoordinatorRecord(key, w.ToArray());
    }

    public static CoordinatorRecord ConsumerGroupTargetAssignmentMember(string groupId, string memberId, ConsumerGroupTargetAssignmentMemberValue? value)
    {
        var key = ConsumerKey(CoordinatorRecordType.ConsumerGroupTargetAssignmentMember, groupId, memberId);
        if (value is null)
        {
            return new CoordinatorRecord(key, null);
        }

        var w = FlexibleValue();
        WriteTopicPartitions(w, value.TopicPartitions);
        w.NoTaggedFields();
        return new CoordinatorRecord(key, w.ToArray());
    }

    public static CoordinatorRecord ConsumerGroupCurrentMemberAssignment(string groupId, string memberId, ConsumerGroupCurrentMemberAssignmentValue? value)
    {
        var key = ConsumerKey(CoordinatorRecordType.ConsumerGroupCurrentMemberAssignment, groupId, memberId);
        if (value is null)
        {
            return new CoordinatorRecord(key, null);
        }

        var w = FlexibleValue();
        w.Int32(value.MemberEpoch);
        w.Int32(value.PreviousMemberEpoch);
        w.WriteInt8(value.State);
        WriteTopicPartitions(w, value.AssignedPartitions);
        WriteTopicPartitions(w, value.PartitionsPendingRevocation);
        w.NoTaggedFields();
        return new CoordinatorRecord(key, w.ToArray());
    }

    private static void WriteTopicPartitions(RecordWriter w, IReadOnlyList<TopicPartitions> topics)
    {
        w.ArrayLength(topics.Count);
        foreach (var t in topics)
        {
            w.Uuid(t.TopicId);
            w.Int32Array([.. t.Partitions]);
            w.NoTaggedFields();
        }
    }

    private static List<TopicPartitions> ReadTopicPartitions(ref RecordReader r)
    {
        var count = r.ArrayLength();
        var list = new List<TopicPartitions>(Math.Max(count, 0));
        for (var i = 0; i < count; i++)
        {
            var id = r.Uuid();
            var partitions = r.Int32Array();
            r.SkipTaggedFields();
            list.Add(new TopicPartitions(id, partitions));
        }

        return list;
    }

    /// <summary>Decodes a record; returns false for record types the group coordinator does not own (share groups, ...).</summary>
    public static bool TryDecode(CoordinatorRecord record, out DecodedRecord decoded)
    {
        decoded = default;
        var k = new RecordReader(record.Key, flexible: false);
        var type = (CoordinatorRecordType)k.Int16();
        switch (type)
        {
            case CoordinatorRecordType.LegacyOffsetCommit:
            case CoordinatorRecordType.OffsetCommit:
            {
                var key = new OffsetCommitKey(k.String(), k.String(), k.Int32());
                decoded = new DecodedRecord(CoordinatorRecordType.OffsetCommit, key, record.Value is null ? null : DecodeOffsetCommitValue(record.Value));
                return true;
            }

            case CoordinatorRecordType.GroupMetadata:
            {
                var key = new GroupMetadataKey(k.String());
                decoded = new DecodedRecord(type, key, record.Value is null ? null : DecodeGroupMetadataValue(record.Value));
                return true;
            }

            case CoordinatorRecordType.ConsumerGroupMetadata:
            case CoordinatorRecordType.ConsumerGroupTargetAssignmentMetadata:
            case CoordinatorRecordType.ConsumerGroupPartitionMetadata:
            {
                var key = new ConsumerGroupRecordKey(type, k.String(), null);
                decoded = new DecodedRecord(type, key, record.Value is null ? null : DecodeConsumerValue(type, record.Value));
                return true;
            }

            case CoordinatorRecordType.ConsumerGroupMemberMetadata:
            case CoordinatorRecordType.ConsumerGroupTargetAssignmentMember:
            case CoordinatorRecordType.ConsumerGroupCurrentMemberAssignment:
            {
                var key = new ConsumerGroupRecordKey(type, k.String(), k.String());
                decoded = new DecodedRecord(type, key, record.Value is null ? null : DecodeConsumerValue(type, record.Value));
                return true;
            }

            default:
                return false;
        }
    }

    private static OffsetCommitValue DecodeOffsetCommitValue(byte[] bytes)
    {
        var r = new RecordReader(bytes, flexible: false);
        var version = r.Int16();
        r.Flexible = version >= 4;
        var offset = r.Int64();
        var leaderEpoch = version >= 3 ? r.Int32() : -1;
        var metadata = r.String();
        var commitTimestamp = r.Int64();
        var expireTimestamp = version == 1 ? r.Int64() : -1;
        r.SkipTaggedFields();
        return new OffsetCommitValue(offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp);
    }

    private static GroupMetadataValue DecodeGroupMetadataValue(byte[] bytes)
    {
        var r = new RecordReader(bytes, flexible: false);
        var version = r.Int16();
        r.Flexible = version >= 4;
        var protocolType = r.String();
        var generation = r.Int32();
        var protocol = r.NullableString();
        var leader = r.NullableString();
        var timestamp = version >= 2 ? r.Int64() : -1;
        var count = r.ArrayLength();
        var members = new List<GroupMetadataMember>(Math.Max(count, 0));
        for (var i = 0; i < count; i++)
        {
            var memberId = r.String();
            var instanceId = version >= 3 ? r.NullableString() : null;
            var clientId = r.String();
            var clientHost = r.String();
            var rebalanceTimeout = version >= 1 ? r.Int32() : -1;
            var sessionTimeout = r.Int32();
            var subscription = r.Bytes();
            var assignment = r.Bytes();
            r.SkipTaggedFields();
            members.Add(new GroupMetadataMember(memberId, instanceId, clientId, clientHost, rebalanceTimeout, sessionTimeout, subscription, assignment));
        }

        r.SkipTaggedFields();
        return new GroupMetadataValue(protocolType, generation, protocol, leader, timestamp, members);
    }

    private static object? DecodeConsumerValue(CoordinatorRecordType type, byte[] bytes)
    {
        var r = new RecordReader(bytes, flexible: true);
        r.Int16();
        switch (type)
        {
            case CoordinatorRecordType.ConsumerGroupMetadata:
                return new ConsumerGroupMetadataValue(r.Int32());
            case CoordinatorRecordType.ConsumerGroupTargetAssignmentMetadata:
                return new ConsumerGroupTargetAssignmentMetadataValue(r.Int32());
            case CoordinatorRecordType.ConsumerGroupMemberMetadata:
            {
                var instanceId = r.NullableString();
                var rackId = r.NullableString();
                var clientId = r.String();
                var clientHost = r.String();
                var topics = r.StringArray();
                var regex = r.NullableString();
                var rebalanceTimeout = r.Int32();
                var assignor = r.NullableString();
                r.SkipTaggedFields();
                return new ConsumerGroupMemberMetadataValue(instanceId, rackId, clientId, clientHost, topics, regex, rebalanceTimeout, assignor);
            }

            case CoordinatorRecordType.ConsumerGroupTargetAssignmentMember:
                return new ConsumerGroupTargetAssignmentMemberValue(ReadTopicPartitions(ref r));
            case CoordinatorRecordType.ConsumerGroupCurrentMemberAssignment:
            {
                var epoch = r.Int32();
                var previous = r.Int32();
                var state = r.Int8();
                var assigned = ReadTopicPartitions(ref r);
                var pending = ReadTopicPartitions(ref r);
                return new ConsumerGroupCurrentMemberAssignmentValue(epoch, previous, state, assigned, pending);
            }

            default:
                // Partition metadata (deprecated since Kafka 4.0) is not needed: subscriptions are
                // resolved against the broker's live topic metadata.
                return null;
        }
    }
}
