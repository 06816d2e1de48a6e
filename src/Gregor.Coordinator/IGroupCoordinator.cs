namespace Gregor.Coordinator;

/// <summary>The group coordinator as the broker's group handlers see it.</summary>
public interface IGroupCoordinator
{
    /// <summary><c>offsets.topic.num.partitions</c>.</summary>
    int OffsetsTopicPartitionCount { get; }

    /// <summary>The <c>__consumer_offsets</c> partition that coordinates a group (or transactional id).</summary>
    int PartitionFor(string groupId);

    /// <summary>Becomes coordinator of a partition: replays its records; meanwhile its groups get COORDINATOR_LOAD_IN_PROGRESS.</summary>
    Task LoadPartitionAsync(int partition, CancellationToken cancellationToken = default);

    /// <summary>Stops coordinating a partition (leadership moved): its groups get NOT_COORDINATOR.</summary>
    void UnloadPartition(int partition);

    /// <summary>Whether this coordinator has finished loading the partition.</summary>
    bool IsPartitionLoaded(int partition);

    Task<JoinGroupResult> JoinGroupAsync(JoinGroupInput input, CancellationToken cancellationToken = default);

    Task<SyncGroupResult> SyncGroupAsync(SyncGroupInput input, CancellationToken cancellationToken = default);

    Task<Gregor.Protocol.ErrorCode> HeartbeatAsync(HeartbeatInput input, CancellationToken cancellationToken = default);

    Task<LeaveGroupResult> LeaveGroupAsync(LeaveGroupInput input, CancellationToken cancellationToken = default);

    Task<ConsumerGroupHeartbeatResult> ConsumerGroupHeartbeatAsync(ConsumerGroupHeartbeatInput input, CancellationToken cancellationToken = default);

    IReadOnlyList<ConsumerGroupDescription> ConsumerGroupDescribe(IReadOnlyList<string> groupIds);

    Task<OffsetCommitResult> CommitOffsetsAsync(OffsetCommitInput input, CancellationToken cancellationToken = default);

    /// <summary>
    /// KIP-447: checks a TxnOffsetCommit's generation (or member epoch), member and instance id when
    /// it arrives; the offsets themselves are committed later, at the transaction's marker.
    /// </summary>
    Gregor.Protocol.ErrorCode ValidateTransactionalOffsetCommit(string groupId, int generationIdOrMemberEpoch, string memberId, string? groupInstanceId);

    /// <summary>
    /// TxnOffsetCommit: checks the member (KIP-447), then writes the offsets to the group's
    /// partition as a transactional batch of the producer; they stay pending (invisible to
    /// OffsetFetch, UNSTABLE_OFFSET_COMMIT with require_stable) until <see cref="CompleteTransaction"/>.
    /// </summary>
    Task<OffsetCommitResult> CommitTransactionalOffsetsAsync(TxnOffsetCommitInput input, CancellationToken cancellationToken = default);

    /// <summary>
    /// The producer's COMMIT or ABORT marker was appended to <c>__consumer_offsets</c> partition
    /// <paramref name="partition"/>: a commit materialises the producer's pending offsets, an abort drops them.
    /// </summary>
    void CompleteTransaction(int partition, long producerId, TransactionResult result);

    /// <summary>Whether an open transaction holds an offset for the group's partition.</summary>
    bool HasPendingTransactionalOffset(string groupId, string topic, int partition);

    OffsetFetchResult FetchOffsets(OffsetFetchInput input);

    Task<OffsetDeleteResult> DeleteOffsetsAsync(OffsetDeleteInput input, CancellationToken cancellationToken = default);

    /// <summary>Groups of every loaded partition; filters compare case-insensitively, as Kafka does; empty or null means all.</summary>
    ListGroupsResult ListGroups(IReadOnlyCollection<string>? statesFilter = null, IReadOnlyCollection<string>? typesFilter = null);

    IReadOnlyList<GroupDescription> DescribeGroups(IReadOnlyList<string> groupIds);

    Task<IReadOnlyList<DeleteGroupResult>> DeleteGroupsAsync(IReadOnlyList<string> groupIds, CancellationToken cancellationToken = default);
}
