using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator;

// Becoming (and ceasing to be) the coordinator of a __consumer_offsets partition.
public sealed partial class GroupCoordinator
{
    public async Task LoadPartitionAsync(int partition, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_partitions.ContainsKey(partition))
            {
                return;
            }

            _partitions[partition] = PartitionStatus.Loading;
        }

        var replay = new PartitionReplay(partition);
        var count = 0;
        try
        {
            await foreach (var record in _log.ReadAllAsync(partition, cancellationToken).ConfigureAwait(false))
            {
                replay.Apply(record);
                count++;
            }
        }
        catch
        {
            lock (_lock)
            {
                _partitions.Remove(partition);
                DropPendingLocked(partition);
            }

            throw;
        }

        lock (_lock)
        {
            if (!_partitions.TryGetValue(partition, out var status) || status != PartitionStatus.Loading)
            {
                return;
            }

            var groups = replay.Build(NowMs);
            foreach (var group in groups)
            {
                _groups[group.GroupId] = group;
                switch (group)
                {
                    case ClassicGroup classic:
                        foreach (var member in classic.Members.Values)
                        {
                            ScheduleHeartbeat(classic, member);
                        }

                        break;
                    case ConsumerGroup consumer:
                        consumer.SubscribedTopicPartitionCounts = SubscribedPartitionCounts(consumer);
                        foreach (var member in consumer.Members.Values)
                        {
                            var memberId = member.MemberId;
                            Schedule(SessionKey(consumer.GroupId, memberId), _config.ConsumerGroupSessionTimeoutMs, () => OnConsumerSessionExpired(consumer, memberId));
                        }

                        break;
                }
            }

            foreach (var (producerId, pending) in replay.Pending)
            {
                _pendingTxnOffsets[(partition, producerId)] = pending;
            }

            ApplyMarkersAfterLoadLocked(partition);
            _partitions[partition] = PartitionStatus.Active;
            GroupLog.PartitionLoaded(_logger, partition, groups.Count, count);
        }
    }

    public void UnloadPartition(int partition)
    {
        lock (_lock)
        {
            _partitions.Remove(partition);
            DropPendingLocked(partition);
            foreach (var group in _groups.Values.Where(g => g.Partition == partition).ToList())
            {
                if (group is ClassicGroup classic)
                {
                    foreach (var m in classic.Members.Values)
                    {
                        m.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(ErrorCode.NotCoordinator, m.MemberId));
                        m.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.NotCoordinator));
                    }
                }

                RemoveGroup(group);
            }
        }
    }

    /// <summary>Rebuilds the groups of one partition from its records, last write wins, tombstones delete.</summary>
    private sealed class PartitionReplay(int partition)
    {
        private readonly Dictionary<string, Dictionary<(string, int), OffsetCommitValue>> _offsets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, GroupMetadataValue> _classic = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ConsumerGroup> _consumer = new(StringComparer.Ordinal);

        /// <summary>Transactional offsets whose marker has not been replayed (yet), by producer id.</summary>
        public Dictionary<long, PendingTransactionOffsets> Pending { get; } = [];

        public void Apply(CoordinatorRecord record)
        {
            if (record.Marker is { } result)
            {
                if (Pending.Remove(record.ProducerId, out var ended) && result == TransactionResult.Commit)
                {
                    foreach (var (groupId, committed) in ended.Groups)
                    {
                        var offsets = OffsetsOf(groupId);
                        foreach (var (tp, value) in committed)
                        {
                            offsets[tp] = value;
                        }
                    }
                }

                return;
            }

            if (!GroupCoordinatorRecords.TryDecode(record, out var decoded))
            {
                return;
            }

            if (record.ProducerId >= 0 && decoded.Key is OffsetCommitKey pendingKey)
            {
                if (!Pending.TryGetValue(record.ProducerId, out var pending))
                {
                    pending = new PendingTransactionOffsets();
                    Pending[record.ProducerId] = pending;
                }

                if (decoded.Value is OffsetCommitValue pendingValue)
                {
                    pending.Add(pendingKey.Group, (pendingKey.Topic, pendingKey.Partition), pendingValue);
                }
                else
                {
                    pending.Remove(pendingKey.Group, (pendingKey.Topic, pendingKey.Partition));
                }

                return;
            }

            switch (decoded.Key)
            {
                case OffsetCommitKey key:
                    if (!_offsets.TryGetValue(key.Group, out var offsets))
                    {
                        offsets = [];
                        _offsets[key.Group] = offsets;
                    }

                    if (decoded.Value is OffsetCommitValue value)
                    {
                        offsets[(key.Topic, key.Partition)] = value;
                    }
                    else
                    {
                        offsets.Remove((key.Topic, key.Partition));
                    }

                    break;

                case GroupMetadataKey key:
                    if (decoded.Value is GroupMetadataValue metadata)
                    {
                        _classic[key.Group] = metadata;
                        _consumer.Remove(key.Group);
                    }
                    else
                    {
                        _classic.Remove(key.Group);
                    }

                    break;

                case ConsumerGroupRecordKey key:
                    ApplyConsumer(key, decoded.Value);
                    break;
            }
        }

        private Dictionary<(string, int), OffsetCommitValue> OffsetsOf(string groupId)
        {
            if (!_offsets.TryGetValue(groupId, out var offsets))
            {
                offsets = [];
                _offsets[groupId] = offsets;
            }

            return offsets;
        }

        private void ApplyConsumer(ConsumerGroupRecordKey key, object? value)
        {
            if (!_consumer.TryGetValue(key.GroupId, out var group))
            {
                if (value is null)
                {
                    return;
                }

                group = new ConsumerGroup(key.GroupId, partition);
                _consumer[key.GroupId] = group;
                _classic.Remove(key.GroupId);
            }

            ConsumerGroupMember Member(string memberId)
            {
                if (!group.Members.TryGetValue(memberId, out var member))
                {
                    member = new ConsumerGroupMember { MemberId = memberId, ClientId = string.Empty, ClientHost = string.Empty };
                    group.Members[memberId] = member;
                }

                return member;
            }

            switch (key.Type)
            {
                case CoordinatorRecordType.ConsumerGroupMetadata:
                    if (value is ConsumerGroupMetadataValue metadata)
                    {
                        group.GroupEpoch = metadata.Epoch;
                    }
                    else
                    {
                        _consumer.Remove(key.GroupId);
                    }

                    break;

                case CoordinatorRecordType.ConsumerGroupTargetAssignmentMetadata:
                    if (value is ConsumerGroupTargetAssignmentMetadataValue target)
                    {
                        group.AssignmentEpoch = target.AssignmentEpoch;
                    }

                    break;

                case CoordinatorRecordType.ConsumerGroupMemberMetadata:
                    if (value is ConsumerGroupMemberMetadataValue m)
                    {
                        var member = Member(key.MemberId!);
                        member.InstanceId = m.InstanceId;
                        member.RackId = m.RackId;
                        member.ClientId = m.ClientId;
                        member.ClientHost = m.ClientHost;
                        member.SubscribedTopicNames = [.. m.SubscribedTopicNames];
                        member.SubscribedTopicRegex = m.SubscribedTopicRegex;
                        member.RebalanceTimeoutMs = m.RebalanceTimeoutMs;
                        member.ServerAssignor = m.ServerAssignor;
                    }
                    else
                    {
                        group.Members.Remove(key.MemberId!);
                    }

                    break;

                case CoordinatorRecordType.ConsumerGroupTargetAssignmentMember:
                    if (value is ConsumerGroupTargetAssignmentMemberValue t)
                    {
                        group.TargetAssignment[key.MemberId!] = Assignment.From(t.TopicPartitions);
                    }
                    else
                    {
                        group.TargetAssignment.Remove(key.MemberId!);
                    }

                    break;

                case CoordinatorRecordType.ConsumerGroupCurrentMemberAssignment:
                    if (value is ConsumerGroupCurrentMemberAssignmentValue c)
                    {
                        var member = Member(key.MemberId!);
                        member.MemberEpoch = c.MemberEpoch;
                        member.PreviousMemberEpoch = c.PreviousMemberEpoch;
                        member.State = (MemberState)c.State;
                        member.AssignedPartitions = Assignment.From(c.AssignedPartitions);
                        member.PartitionsPendingRevocation = Assignment.From(c.PartitionsPendingRevocation);
                    }

                    break;
            }
        }

        public List<Group> Build(long nowMs)
        {
            var groups = new List<Group>();
            foreach (var (groupId, metadata) in _classic)
            {
                var group = new ClassicGroup(groupId, partition)
                {
                    GenerationId = metadata.Generation,
                    ProtocolType = metadata.ProtocolType.Length == 0 ? null : metadata.ProtocolType,
                    ProtocolName = metadata.Protocol,
                    LeaderId = metadata.Leader,
                };
                foreach (var m in metadata.Members)
                {
                    var member = new ClassicGroupMember
                    {
                        MemberId = m.MemberId,
                        GroupInstanceId = m.GroupInstanceId,
                        ClientId = m.ClientId,
                        ClientHost = m.ClientHost,
                        RebalanceTimeoutMs = m.RebalanceTimeout < 0 ? m.SessionTimeout : m.RebalanceTimeout,
                        SessionTimeoutMs = m.SessionTimeout,
                        ProtocolType = metadata.ProtocolType,
                        Protocols = metadata.Protocol is null ? [] : [new GroupProtocol(metadata.Protocol, m.Subscription)],
                        Assignment = m.Assignment,
                    };
                    group.Members[m.MemberId] = member;
                    if (m.GroupInstanceId is not null)
                    {
                        group.StaticMembers[m.GroupInstanceId] = m.MemberId;
                    }
                }

                group.TransitionTo(group.Members.Count == 0 ? ClassicGroupState.Empty : ClassicGroupState.Stable, metadata.CurrentStateTimestamp >= 0 ? metadata.CurrentStateTimestamp : nowMs);
                groups.Add(group);
            }

            foreach (var group in _consumer.Values)
            {
                group.SubscribedTopicPartitionCounts = [];
                group.CurrentStateTimestamp = nowMs;
                groups.Add(group);
            }

            var byId = groups.ToDictionary(g => g.GroupId, StringComparer.Ordinal);
            foreach (var (groupId, offsets) in _offsets)
            {
                if (offsets.Count == 0)
                {
                    continue;
                }

                if (!byId.TryGetValue(groupId, out var group))
                {
                    // Offsets without group metadata belong to a simple group (manual assignment, admin commits).
                    group = new ClassicGroup(groupId, partition) { CurrentStateTimestamp = nowMs };
                    groups.Add(group);
                    byId[groupId] = group;
                }

                foreach (var (key, value) in offsets)
                {
                    group.Offsets[key] = value;
                }
            }

            return groups;
        }
    }
}
