using Gregor.Protocol;

namespace Gregor.Coordinator;

// The coordinator's own request and result types: handlers translate the wire messages into these,
// so the coordinator never depends on the broker or on a particular API version's shape.

public readonly record struct GroupProtocol(string Name, byte[] Metadata);

public sealed record JoinGroupInput(
    string GroupId,
    string MemberId,
    string? GroupInstanceId,
    string ProtocolType,
    IReadOnlyList<GroupProtocol> Protocols,
    int SessionTimeoutMs,
    int RebalanceTimeoutMs,
    string ClientId,
    string ClientHost,
    bool RequireKnownMemberId,
    string? Reason = null);

public sealed record JoinGroupMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

public sealed record JoinGroupResult(
    ErrorCode Error,
    int GenerationId,
    string? ProtocolType,
    string? ProtocolName,
    string LeaderId,
    bool SkipAssignment,
    string MemberId,
    IReadOnlyList<JoinGroupMember> Members)
{
    public static JoinGroupResult Failed(ErrorCode error, string memberId = "") => new(error, -1, null, null, string.Empty, false, memberId, []);
}

public readonly record struct SyncGroupAssignment(string MemberId, byte[] Assignment);

public sealed record SyncGroupInput(
    string GroupId,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    string? ProtocolType,
    string? ProtocolName,
    IReadOnlyList<SyncGroupAssignment> Assignments);

public sealed record SyncGroupResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    public static SyncGroupResult Failed(ErrorCode error) => new(error, null, null, []);
}

public sealed record HeartbeatInput(string GroupId, int GenerationId, string MemberId, string? GroupInstanceId);

public sealed record LeaveGroupMember(string MemberId, string? GroupInstanceId, string? Reason = null);

public sealed record LeaveGroupInput(string GroupId, IReadOnlyList<LeaveGroupMember> Members);

public sealed record LeaveGroupMemberResult(string MemberId, string? GroupInstanceId, ErrorCode Error);

public sealed record LeaveGroupResult(ErrorCode Error, IReadOnlyList<LeaveGroupMemberResult> Members);

// KIP-848

public sealed record TopicIdPartitions(Uuid TopicId, IReadOnlyList<int> Partitions);

public sealed record ConsumerGroupHeartbeatInput(
    string GroupId,
    string MemberId,
    int MemberEpoch,
    string? InstanceId,
    string? RackId,
    int RebalanceTimeoutMs,
    IReadOnlyList<string>? SubscribedTopicNames,
    string? SubscribedTopicRegex,
    string? ServerAssignor,
    IReadOnlyList<TopicIdPartitions>? TopicPartitions,
    string ClientId,
    string ClientHost,
    short ApiVersion = 1);

public sealed record ConsumerGroupHeartbeatResult(
    ErrorCode Error,
    string? ErrorMessage,
    string? MemberId,
    int MemberEpoch,
    int HeartbeatIntervalMs,
    IReadOnlyList<TopicIdPartitions>? Assignment)
{
    public static ConsumerGroupHeartbeatResult Failed(ErrorCode error, string? message = null) => new(error, message, null, 0, 0, null);
}

public sealed record DescribedTopicPartitions(Uuid TopicId, string TopicName, IReadOnlyList<int> Partitions);

public sealed record ConsumerGroupMemberDescription(
    string MemberId,
    string? InstanceId,
    string? RackId,
    int MemberEpoch,
    string ClientId,
    string ClientHost,
    IReadOnlyList<string> SubscribedTopicNames,
    string? SubscribedTopicRegex,
    IReadOnlyList<DescribedTopicPartitions> Assignment,
    IReadOnlyList<DescribedTopicPartitions> TargetAssignment);

public sealed record ConsumerGroupDescription(
    ErrorCode Error,
    string? ErrorMessage,
    string GroupId,
    string GroupState,
    int GroupEpoch,
    int AssignmentEpoch,
    string AssignorName,
    IReadOnlyList<ConsumerGroupMemberDescription> Members);

// Offsets

public sealed record OffsetCommitPartition(int Partition, long Offset, int LeaderEpoch, string? Metadata);

public sealed record OffsetCommitTopic(string Name, IReadOnlyList<OffsetCommitPartition> Partitions);

/// <summary>
/// An OffsetCommit. <paramref name="GenerationIdOrMemberEpoch"/> is the classic generation or, for
/// a KIP-848 member, its member epoch; -1 with an empty member id is a commit from outside any
/// generation (admin tools, manually assigned consumers).
/// </summary>
public sealed record OffsetCommitInput(
    string GroupId,
    int GenerationIdOrMemberEpoch,
    string MemberId,
    string? GroupInstanceId,
    long RetentionTimeMs,
    IReadOnlyList<OffsetCommitTopic> Topics,
    short ApiVersion = 9,
    bool Transactional = false);

/// <summary>
/// A TxnOffsetCommit: the offsets of <paramref name="ProducerId"/>'s open transaction, with the
/// consumer's generation (or member epoch), member and instance id checked as KIP-447 says.
/// </summary>
public sealed record TxnOffsetCommitInput(
    string GroupId,
    long ProducerId,
    short ProducerEpoch,
    int GenerationIdOrMemberEpoch,
    string MemberId,
    string? GroupInstanceId,
    IReadOnlyList<OffsetCommitTopic> Topics);

public sealed record TopicPartitionError(string Topic, int Partition, ErrorCode Error);

public sealed record OffsetCommitResult(IReadOnlyList<TopicPartitionError> Partitions);

public sealed record OffsetFetchTopic(string Name, IReadOnlyList<int> Partitions);

/// <summary>An OffsetFetch for one group; a null topic list asks for every committed offset of the group.</summary>
public sealed record OffsetFetchInput(
    string GroupId,
    IReadOnlyList<OffsetFetchTopic>? Topics,
    bool RequireStable = false,
    string? MemberId = null,
    int MemberEpoch = -1);

public sealed record FetchedOffset(string Topic, int Partition, long Offset, int LeaderEpoch, string Metadata, ErrorCode Error);

public sealed record OffsetFetchResult(ErrorCode Error, IReadOnlyList<FetchedOffset> Offsets);

public sealed record OffsetDeleteInput(string GroupId, IReadOnlyList<OffsetFetchTopic> Topics);

public sealed record OffsetDeleteResult(ErrorCode Error, IReadOnlyList<TopicPartitionError> Partitions);

// Admin

public sealed record ListedGroup(string GroupId, string ProtocolType, string GroupState, string GroupType);

public sealed record ListGroupsResult(ErrorCode Error, IReadOnlyList<ListedGroup> Groups);

public sealed record DescribedGroupMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] MemberMetadata, byte[] MemberAssignment);

public sealed record GroupDescription(
    ErrorCode Error,
    string? ErrorMessage,
    string GroupId,
    string GroupState,
    string ProtocolType,
    string ProtocolData,
    IReadOnlyList<DescribedGroupMember> Members);

public sealed record DeleteGroupResult(string GroupId, ErrorCode Error);
