using Gregor.Coordinator.Assignors;
using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator;

// KIP-848: ConsumerGroupHeartbeat and ConsumerGroupDescribe. The coordinator computes a target
// assignment per group epoch with a server-side assignor; each member converges to its target one
// heartbeat at a time, revoking partitions before anyone else may get them.
public sealed partial class GroupCoordinator
{
    /// <summary>Member epoch -1: the member leaves the group.</summary>
    public const int LeaveGroupMemberEpoch = -1;

    /// <summary>Member epoch -2: a static member leaves for now and keeps its partitions until its session times out.</summary>
    public const int LeaveGroupStaticMemberEpoch = -2;

    private static string SessionKey(string groupId, string memberId) => "cs|" + groupId + "|" + memberId;

    private static string RevocationKey(string groupId, string memberId) => "cr|" + groupId + "|" + memberId;

    public async Task<ConsumerGroupHeartbeatResult> ConsumerGroupHeartbeatAsync(ConsumerGroupHeartbeatInput input, CancellationToken cancellationToken = default)
    {
        ConsumerGroupHeartbeatResult result;
        Task append;
        lock (_lock)
        {
            var records = new List<CoordinatorRecord>();
            result = ConsumerGroupHeartbeat(input, records, out var partition);
            append = Append(partition, records);
        }

        var error = await AwaitAppend(append).ConfigureAwait(false);
        return error == ErrorCode.None ? result : ConsumerGroupHeartbeatResult.Failed(error);
    }

    private ConsumerGroupHeartbeatResult ConsumerGroupHeartbeat(ConsumerGroupHeartbeatInput input, List<CoordinatorRecord> records, out int partition)
    {
        var error = CheckCoordinator(input.GroupId, out partition);
        if (error != ErrorCode.None)
        {
            return ConsumerGroupHeartbeatResult.Failed(error);
        }

        if (!_config.ConsumerProtocolEnabled)
        {
            // As a Kafka broker whose group.coordinator.rebalance.protocols leaves out "consumer".
            return ConsumerGroupHeartbeatResult.Failed(ErrorCode.UnsupportedVersion, "The consumer group protocol is disabled (group.coordinator.rebalance.protocols).");
        }

        var invalid = ValidateHeartbeat(input);
        if (invalid is not null)
        {
            GroupLog.HeartbeatRejected(_logger, input.GroupId, input.MemberId, input.MemberEpoch, invalid);
            return invalid switch
            {
                "assignor" => ConsumerGroupHeartbeatResult.Failed(ErrorCode.UnsupportedAssignor, $"Unsupported assignor {input.ServerAssignor}."),
                "regex" => ConsumerGroupHeartbeatResult.Failed(ErrorCode.InvalidRegularExpression, $"SubscribedTopicRegex '{input.SubscribedTopicRegex}' is not a valid regular expression."),
                _ => ConsumerGroupHeartbeatResult.Failed(ErrorCode.InvalidRequest, invalid),
            };
        }

        _groups.TryGetValue(input.GroupId, out var existing);
        if (existing is ClassicGroup classic)
        {
            if (!classic.IsEmpty)
            {
                return ConsumerGroupHeartbeatResult.Failed(ErrorCode.GroupIdNotFound, $"Group {input.GroupId} is a classic group with members.");
            }

            existing = ConvertToConsumer(classic, records);
        }

        var group = existing as ConsumerGroup;
        if (input.MemberEpoch is LeaveGroupMemberEpoch or LeaveGroupStaticMemberEpoch)
        {
            return LeaveConsumerGroup(group, input, records);
        }

        if (group is null)
        {
            if (input.MemberEpoch != 0)
            {
                return ConsumerGroupHeartbeatResult.Failed(ErrorCode.UnknownMemberId, $"Group {input.GroupId} has no member {input.MemberId}.");
            }

            group = new ConsumerGroup(input.GroupId, partition) { CurrentStateTimestamp = NowMs };
            _groups[input.GroupId] = group;
        }

        var memberId = input.MemberId.Length > 0 ? input.MemberId : Guid.NewGuid().ToString();
        var bumpEpoch = false;
        group.Members.TryGetValue(memberId, out var member);
        if (input.MemberEpoch == 0)
        {
            if (input.InstanceId is not null && group.Members.Values.FirstOrDefault(m => m.InstanceId == input.InstanceId && m.MemberId != memberId) is { } previous)
            {
                if (previous.MemberEpoch != LeaveGroupStaticMemberEpoch)
                {
                    return ConsumerGroupHeartbeatResult.Failed(ErrorCode.UnreleasedInstanceId, $"Static member {input.InstanceId} is still in the group.");
                }

                member = ReplaceStaticConsumerMember(group, previous, memberId, input, records);
            }
            else if (member is null)
            {
                if (group.Members.Count >= _config.ConsumerGroupMaxSize)
                {
                    return ConsumerGroupHeartbeatResult.Failed(ErrorCode.GroupMaxSizeReached);
                }

                member = new ConsumerGroupMember { MemberId = memberId, ClientId = input.ClientId, ClientHost = input.ClientHost };
                group.Members[memberId] = member;
                bumpEpoch = true;
            }
        }
        else
        {
            if (member is null)
            {
                return ConsumerGroupHeartbeatResult.Failed(ErrorCode.UnknownMemberId, $"Group {input.GroupId} has no member {memberId}.");
            }

            if (input.MemberEpoch > member.MemberEpoch)
            {
                return ConsumerGroupHeartbeatResult.Failed(ErrorCode.FencedMemberEpoch, $"Epoch {input.MemberEpoch} is ahead of the member's {member.MemberEpoch}.");
            }

            if (input.MemberEpoch < member.MemberEpoch)
            {
                // The previous epoch is accepted when the member's last response got lost and it owns
                // nothing it should not: it will get the new epoch in this response.
                var ownsSubset = input.TopicPartitions is null || input.TopicPartitions.All(t => t.Partitions.All(p => member.AssignedPartitions.Contains(t.TopicId, p)));
                if (input.MemberEpoch != member.PreviousMemberEpoch || !ownsSubset)
                {
                    return ConsumerGroupHeartbeatResult.Failed(ErrorCode.FencedMemberEpoch, $"Epoch {input.MemberEpoch} is behind the member's {member.MemberEpoch}.");
                }
            }
        }

        if (UpdateMemberMetadata(member, input))
        {
            bumpEpoch = true;
            records.Add(MemberMetadataRecord(group, member));
        }
        else if (input.MemberEpoch == 0 && bumpEpoch)
        {
            records.Add(MemberMetadataRecord(group, member));
        }

        var partitionCounts = SubscribedPartitionCounts(group);
        if (!SameCounts(partitionCounts, group.SubscribedTopicPartitionCounts))
        {
            // New topics appeared or partitions were added: the target assignment must be recomputed.
            group.SubscribedTopicPartitionCounts = partitionCounts;
            bumpEpoch = true;
        }

        if (bumpEpoch)
        {
            group.GroupEpoch++;
            records.Add(GroupCoordinatorRecords.ConsumerGroupMetadata(group.GroupId, new ConsumerGroupMetadataValue(group.GroupEpoch)));
        }

        if (group.GroupEpoch > group.AssignmentEpoch)
        {
            ComputeTargetAssignment(group, records);
        }

        var before = Assignment.From(member.AssignedPartitions.All());
        var owned = input.TopicPartitions is null ? null : Assignment.From(input.TopicPartitions.SelectMany(t => t.Partitions.Select(p => (t.TopicId, p))));
        if (Reconcile(group, member, owned))
        {
            records.Add(CurrentAssignmentRecord(group, member));
        }

        Schedule(SessionKey(group.GroupId, member.MemberId), _config.ConsumerGroupSessionTimeoutMs, () => OnConsumerSessionExpired(group, memberId));
        var sendAssignment = input.MemberEpoch == 0 || !before.SetEquals(member.AssignedPartitions) || (owned is not null && !owned.SetEquals(member.AssignedPartitions));
        return new ConsumerGroupHeartbeatResult(
            ErrorCode.None,
            null,
            member.MemberId,
            member.MemberEpoch,
            _config.ConsumerGroupHeartbeatIntervalMs,
            sendAssignment ? ToTopicIdPartitions(member.AssignedPartitions) : null);
    }

    private string? ValidateHeartbeat(ConsumerGroupHeartbeatInput input)
    {
        if (string.IsNullOrEmpty(input.GroupId))
        {
            return "GroupId can't be empty.";
        }

        if (input.ApiVersion >= 1 && string.IsNullOrEmpty(input.MemberId))
        {
            // KIP-1082: from v1 the client picks its member id.
            return "MemberId can't be empty.";
        }

        if (input.MemberEpoch < LeaveGroupStaticMemberEpoch)
        {
            return "MemberEpoch is invalid.";
        }

        if (input.MemberEpoch == 0)
        {
            if (input.RebalanceTimeoutMs == -1)
            {
                return "RebalanceTimeoutMs must be provided in first request.";
            }

            if (input.SubscribedTopicNames is null && input.SubscribedTopicRegex is null)
            {
                return "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.";
            }
        }
        else if (input.MemberEpoch > 0 && string.IsNullOrEmpty(input.MemberId))
        {
            return "MemberId can't be empty.";
        }

        if (!string.IsNullOrEmpty(input.SubscribedTopicRegex) && TopicRegex(input.SubscribedTopicRegex) is null)
        {
            return "regex";
        }

        if (input.ServerAssignor is not null && !_config.ConsumerGroupAssignors.Contains(input.ServerAssignor))
        {
            return "assignor";
        }

        return null;
    }

    private static bool UpdateMemberMetadata(ConsumerGroupMember member, ConsumerGroupHeartbeatInput input)
    {
        var changed = false;
        member.ClientId = input.ClientId;
        member.ClientHost = input.ClientHost;
        if (input.InstanceId is not null && member.InstanceId != input.InstanceId)
        {
            member.InstanceId = input.InstanceId;
            changed = true;
        }

        if (input.RackId is not null && member.RackId != input.RackId)
        {
            member.RackId = input.RackId;
            changed = true;
        }

        if (input.RebalanceTimeoutMs != -1 && member.RebalanceTimeoutMs != input.RebalanceTimeoutMs)
        {
            member.RebalanceTimeoutMs = input.RebalanceTimeoutMs;
        }

        if (input.SubscribedTopicNames is not null && !member.SubscribedTopicNames.Order(StringComparer.Ordinal).SequenceEqual(input.SubscribedTopicNames.Order(StringComparer.Ordinal)))
        {
            member.SubscribedTopicNames = [.. input.SubscribedTopicNames];
            changed = true;
        }

        // librdkafka sends an empty regex alongside topic names to mean "no regex".
        if (input.SubscribedTopicRegex is not null)
        {
            var regex = input.SubscribedTopicRegex.Length == 0 ? null : input.SubscribedTopicRegex;
            if (member.SubscribedTopicRegex != regex)
            {
                member.SubscribedTopicRegex = regex;
                changed = true;
            }
        }

        if (input.ServerAssignor is not null && member.ServerAssignor != input.ServerAssignor)
        {
            member.ServerAssignor = input.ServerAssignor;
            changed = true;
        }

        return changed;
    }

    private Dictionary<Uuid, int> SubscribedPartitionCounts(ConsumerGroup group)
    {
        var counts = new Dictionary<Uuid, int>();
        foreach (var name in group.Members.Values.SelectMany(SubscribedTopics).Distinct(StringComparer.Ordinal))
        {
            if (_topics.TryGetTopic(name, out var topic))
            {
                counts[topic.TopicId] = topic.PartitionCount;
            }
        }

        return counts;
    }

    /// <summary>
    /// The topics a member consumes: its names plus, for a regular-expression subscription
    /// (KIP-848), every non-internal topic the expression matches in full, as Kafka's RE2J match does.
    /// </summary>
    private IEnumerable<string> SubscribedTopics(ConsumerGroupMember member)
    {
        if (member.SubscribedTopicRegex is null || TopicRegex(member.SubscribedTopicRegex) is not { } regex)
        {
            return member.SubscribedTopicNames;
        }

        return member.SubscribedTopicNames.Concat(_topics.AllTopics().Select(t => t.Name).Where(n => !n.StartsWith("__", StringComparison.Ordinal) && regex.IsMatch(n)));
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Text.RegularExpressions.Regex?> TopicRegexes = new(StringComparer.Ordinal);

    private static System.Text.RegularExpressions.Regex? TopicRegex(string pattern) =>
        TopicRegexes.GetOrAdd(pattern, static p =>
        {
            try
            {
                return new System.Text.RegularExpressions.Regex($"^(?:{p})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException)
            {
                return null;
            }
        });

    private static bool SameCounts(Dictionary<Uuid, int> a, Dictionary<Uuid, int> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <summary>The assignor the most members ask for, else the first of <c>group.consumer.assignors</c>.</summary>
    private IPartitionAssignor SelectAssignor(ConsumerGroup group)
    {
        var preferred = group.Members.Values
            .Where(m => m.ServerAssignor is not null)
            .GroupBy(m => m.ServerAssignor!, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key)
            .FirstOrDefault();
        return PartitionAssignors.ByName(preferred ?? _config.ConsumerGroupAssignors[0]) ?? new UniformAssignor();
    }

    private void ComputeTargetAssignment(ConsumerGroup group, List<CoordinatorRecord> records)
    {
        var partitionCounts = SubscribedPartitionCounts(group);
        group.SubscribedTopicPartitionCounts = partitionCounts;
        var members = group.Members.Values
            .Select(m => new AssignmentMember(
                m.MemberId,
                SubscribedTopics(m).Select(n => _topics.TryGetTopic(n, out var t) ? t.TopicId : Uuid.Zero).Where(id => !id.IsZero).ToHashSet(),
                group.TargetAssignment.GetValueOrDefault(m.MemberId) ?? new Assignment()))
            .ToList();
        var target = SelectAssignor(group).Assign(members, partitionCounts);
        foreach (var (memberId, assignment) in target)
        {
            if (!group.TargetAssignment.TryGetValue(memberId, out var previous) || !previous.SetEquals(assignment))
            {
                group.TargetAssignment[memberId] = assignment;
                records.Add(GroupCoordinatorRecords.ConsumerGroupTargetAssignmentMember(group.GroupId, memberId, new ConsumerGroupTargetAssignmentMemberValue(assignment.ToRecord())));
            }
        }

        group.AssignmentEpoch = group.GroupEpoch;
        records.Add(GroupCoordinatorRecords.ConsumerGroupTargetAssignmentMetadata(group.GroupId, new ConsumerGroupTargetAssignmentMetadataValue(group.AssignmentEpoch)));
    }

    /// <summary>
    /// Moves a member one step towards its target (Kafka's <c>CurrentAssignmentBuilder</c>): first it
    /// must revoke what is no longer its own (keeping its epoch), then it gets the new epoch and those
    /// target partitions no other member still holds; the rest follow as they are released.
    /// Returns whether the member's epoch, state or partitions changed.
    /// </summary>
    private bool Reconcile(ConsumerGroup group, ConsumerGroupMember member, Assignment? owned)
    {
        var epoch = member.MemberEpoch;
        var state = member.State;
        var assigned = member.AssignedPartitions;
        var pending = member.PartitionsPendingRevocation;
        switch (member.State)
        {
            case MemberState.UnrevokedPartitions:
                if (owned is not null && !member.PartitionsPendingRevocation.All().Any(tp => owned.Contains(tp.TopicId, tp.Partition)))
                {
                    member.PartitionsPendingRevocation = new Assignment();
                    ComputeNextAssignment(group, member);
                }

                break;

            case MemberState.Stable:
                if (member.MemberEpoch != group.AssignmentEpoch)
                {
                    ComputeNextAssignment(group, member);
                }

                break;

            default:
                ComputeNextAssignment(group, member);
                break;
        }

        if (member.State == MemberState.UnrevokedPartitions && state != MemberState.UnrevokedPartitions)
        {
            var timeout = member.RebalanceTimeoutMs > 0 ? member.RebalanceTimeoutMs : _config.ConsumerGroupSessionTimeoutMs;
            var memberId = member.MemberId;
            Schedule(RevocationKey(group.GroupId, memberId), timeout, () => OnRevocationTimeout(group, memberId));
        }
        else if (member.State != MemberState.UnrevokedPartitions)
        {
            Cancel(RevocationKey(group.GroupId, member.MemberId));
        }

        return epoch != member.MemberEpoch || state != member.State || !assigned.SetEquals(member.AssignedPartitions) || !pending.SetEquals(member.PartitionsPendingRevocation);
    }

    private static void ComputeNextAssignment(ConsumerGroup group, ConsumerGroupMember member)
    {
        var target = group.TargetAssignment.GetValueOrDefault(member.MemberId) ?? new Assignment();
        var kept = Assignment.From(member.AssignedPartitions.All().Where(tp => target.Contains(tp.TopicId, tp.Partition)));
        var revoke = Assignment.From(member.AssignedPartitions.All().Where(tp => !target.Contains(tp.TopicId, tp.Partition)));
        if (revoke.Count > 0)
        {
            member.AssignedPartitions = kept;
            member.PartitionsPendingRevocation = revoke;
            member.State = MemberState.UnrevokedPartitions;
            return;
        }

        var next = Assignment.From(kept.All());
        var unreleased = false;
        foreach (var (topic, partition) in target.All())
        {
            if (next.Contains(topic, partition))
            {
                continue;
            }

            if (group.OwnerOf(topic, partition, member.MemberId) is null)
            {
                next.Add(topic, partition);
            }
            else
            {
                unreleased = true;
            }
        }

        if (member.MemberEpoch != group.AssignmentEpoch)
        {
            member.PreviousMemberEpoch = member.MemberEpoch;
            member.MemberEpoch = group.AssignmentEpoch;
        }

        member.AssignedPartitions = next;
        member.PartitionsPendingRevocation = new Assignment();
        member.State = unreleased ? MemberState.UnreleasedPartitions : MemberState.Stable;
    }

    private ConsumerGroupHeartbeatResult LeaveConsumerGroup(ConsumerGroup? group, ConsumerGroupHeartbeatInput input, List<CoordinatorRecord> records)
    {
        if (group is null || !group.Members.TryGetValue(input.MemberId, out var member))
        {
            return ConsumerGroupHeartbeatResult.Failed(ErrorCode.UnknownMemberId, $"Group {input.GroupId} has no member {input.MemberId}.");
        }

        if (input.MemberEpoch == LeaveGroupStaticMemberEpoch && member.InstanceId is not null)
        {
            // KIP-848 static leave: the partitions stay with the instance until its session times out,
            // so a restart within that time resumes without a rebalance.
            member.PreviousMemberEpoch = member.MemberEpoch;
            member.MemberEpoch = LeaveGroupStaticMemberEpoch;
            records.Add(CurrentAssignmentRecord(group, member));
            var id = member.MemberId;
            Schedule(SessionKey(group.GroupId, id), _config.ConsumerGroupSessionTimeoutMs, () => OnConsumerSessionExpired(group, id));
            return new ConsumerGroupHeartbeatResult(ErrorCode.None, null, member.MemberId, LeaveGroupStaticMemberEpoch, 0, null);
        }

        RemoveConsumerMember(group, member, records, "left the group");
        return new ConsumerGroupHeartbeatResult(ErrorCode.None, null, member.MemberId, LeaveGroupMemberEpoch, 0, null);
    }

    private ConsumerGroupMember ReplaceStaticConsumerMember(ConsumerGroup group, ConsumerGroupMember previous, string memberId, ConsumerGroupHeartbeatInput input, List<CoordinatorRecord> records)
    {
        var member = new ConsumerGroupMember
        {
            MemberId = memberId,
            InstanceId = previous.InstanceId,
            RackId = previous.RackId,
            ClientId = input.ClientId,
            ClientHost = input.ClientHost,
            SubscribedTopicNames = previous.SubscribedTopicNames,
            SubscribedTopicRegex = previous.SubscribedTopicRegex,
            ServerAssignor = previous.ServerAssignor,
            RebalanceTimeoutMs = previous.RebalanceTimeoutMs,
            MemberEpoch = previous.PreviousMemberEpoch,
            PreviousMemberEpoch = previous.PreviousMemberEpoch,
            State = previous.State,
            AssignedPartitions = previous.AssignedPartitions,
            PartitionsPendingRevocation = previous.PartitionsPendingRevocation,
        };
        var target = group.TargetAssignment.GetValueOrDefault(previous.MemberId);
        WriteMemberTombstones(group, previous.MemberId, records);
        group.Members.Remove(previous.MemberId);
        group.TargetAssignment.Remove(previous.MemberId);
        Cancel(SessionKey(group.GroupId, previous.MemberId));
        Cancel(RevocationKey(group.GroupId, previous.MemberId));
        group.Members[memberId] = member;
        records.Add(MemberMetadataRecord(group, member));
        if (target is not null)
        {
            group.TargetAssignment[memberId] = target;
            records.Add(GroupCoordinatorRecords.ConsumerGroupTargetAssignmentMember(group.GroupId, memberId, new ConsumerGroupTargetAssignmentMemberValue(target.ToRecord())));
        }

        records.Add(CurrentAssignmentRecord(group, member));
        return member;
    }

    private void OnConsumerSessionExpired(ConsumerGroup group, string memberId)
    {
        if (group.Members.TryGetValue(memberId, out var member))
        {
            var records = new List<CoordinatorRecord>();
            RemoveConsumerMember(group, member, records, "session timeout expired");
            Append(group.Partition, records);
        }
    }

    private void OnRevocationTimeout(ConsumerGroup group, string memberId)
    {
        if (group.Members.TryGetValue(memberId, out var member) && member.State == MemberState.UnrevokedPartitions)
        {
            var records = new List<CoordinatorRecord>();
            RemoveConsumerMember(group, member, records, "did not revoke its partitions before the rebalance timeout");
            Append(group.Partition, records);
        }
    }

    private void RemoveConsumerMember(ConsumerGroup group, ConsumerGroupMember member, List<CoordinatorRecord> records, string reason)
    {
        WriteMemberTombstones(group, member.MemberId, records);
        group.Members.Remove(member.MemberId);
        group.TargetAssignment.Remove(member.MemberId);
        Cancel(SessionKey(group.GroupId, member.MemberId));
        Cancel(RevocationKey(group.GroupId, member.MemberId));
        group.GroupEpoch++;
        records.Add(GroupCoordinatorRecords.ConsumerGroupMetadata(group.GroupId, new ConsumerGroupMetadataValue(group.GroupEpoch)));
        if (group.Members.Count == 0)
        {
            group.CurrentStateTimestamp = NowMs;
        }

        GroupLog.MemberRemoved(_logger, member.MemberId, group.GroupId, reason);
    }

    private static void WriteMemberTombstones(ConsumerGroup group, string memberId, List<CoordinatorRecord> records)
    {
        records.Add(GroupCoordinatorRecords.ConsumerGroupCurrentMemberAssignment(group.GroupId, memberId, null));
        records.Add(GroupCoordinatorRecords.ConsumerGroupTargetAssignmentMember(group.GroupId, memberId, null));
        records.Add(GroupCoordinatorRecords.ConsumerGroupMemberMetadata(group.GroupId, memberId, null));
    }

    private static void WriteConsumerGroupTombstones(ConsumerGroup group, List<CoordinatorRecord> records)
    {
        foreach (var memberId in group.Members.Keys)
        {
            WriteMemberTombstones(group, memberId, records);
        }

        records.Add(GroupCoordinatorRecords.ConsumerGroupTargetAssignmentMetadata(group.GroupId, null));
        records.Add(GroupCoordinatorRecords.ConsumerGroupMetadata(group.GroupId, null));
    }

    private static CoordinatorRecord MemberMetadataRecord(ConsumerGroup group, ConsumerGroupMember member) =>
        GroupCoordinatorRecords.ConsumerGroupMemberMetadata(group.GroupId, member.MemberId, new ConsumerGroupMemberMetadataValue(
            member.InstanceId, member.RackId, member.ClientId, member.ClientHost, member.SubscribedTopicNames, member.SubscribedTopicRegex, member.RebalanceTimeoutMs, member.ServerAssignor));

    private static CoordinatorRecord CurrentAssignmentRecord(ConsumerGroup group, ConsumerGroupMember member) =>
        GroupCoordinatorRecords.ConsumerGroupCurrentMemberAssignment(group.GroupId, member.MemberId, new ConsumerGroupCurrentMemberAssignmentValue(
            member.MemberEpoch, member.PreviousMemberEpoch, (sbyte)member.State, member.AssignedPartitions.ToRecord(), member.PartitionsPendingRevocation.ToRecord()));

    private static List<TopicIdPartitions> ToTopicIdPartitions(Assignment assignment) =>
        [.. assignment.ToRecord().Select(t => new TopicIdPartitions(t.TopicId, t.Partitions))];

    private ConsumerGroup ConvertToConsumer(ClassicGroup classic, List<CoordinatorRecord> records)
    {
        records.Add(GroupCoordinatorRecords.GroupMetadata(classic.GroupId, null));
        RemoveGroup(classic);
        var group = new ConsumerGroup(classic.GroupId, classic.Partition) { CurrentStateTimestamp = NowMs };
        foreach (var (key, value) in classic.Offsets)
        {
            group.Offsets[key] = value;
        }

        _groups[group.GroupId] = group;
        return group;
    }

    public IReadOnlyList<ConsumerGroupDescription> ConsumerGroupDescribe(IReadOnlyList<string> groupIds)
    {
        lock (_lock)
        {
            var result = new List<ConsumerGroupDescription>(groupIds.Count);
            foreach (var groupId in groupIds)
            {
                var error = CheckCoordinator(groupId, out _);
                if (error != ErrorCode.None)
                {
                    result.Add(new ConsumerGroupDescription(error, null, groupId, string.Empty, 0, 0, string.Empty, []));
                    continue;
                }

                if (!_groups.TryGetValue(groupId, out var g) || g is not ConsumerGroup group)
                {
                    result.Add(new ConsumerGroupDescription(ErrorCode.GroupIdNotFound, $"Group {groupId} not found.", groupId, string.Empty, 0, 0, string.Empty, []));
                    continue;
                }

                result.Add(new ConsumerGroupDescription(
                    ErrorCode.None,
                    null,
                    groupId,
                    DescribeStateName(group.State),
                    group.GroupEpoch,
                    group.AssignmentEpoch,
                    SelectAssignor(group).Name,
                    [.. group.Members.Values.Select(m => new ConsumerGroupMemberDescription(
                        m.MemberId,
                        m.InstanceId,
                        m.RackId,
                        m.MemberEpoch,
                        m.ClientId,
                        m.ClientHost,
                        m.SubscribedTopicNames,
                        m.SubscribedTopicRegex,
                        Describe(m.AssignedPartitions),
                        Describe(group.TargetAssignment.GetValueOrDefault(m.MemberId) ?? new Assignment())))]));
            }

            return result;
        }
    }

    private static string DescribeStateName(ConsumerGroupState state) => state.ToString();

    private List<DescribedTopicPartitions> Describe(Assignment assignment)
    {
        var list = new List<DescribedTopicPartitions>();
        foreach (var t in assignment.ToRecord())
        {
            var name = _topics.TryGetTopic(t.TopicId, out var topic) ? topic.Name : string.Empty;
            list.Add(new DescribedTopicPartitions(t.TopicId, name, t.Partitions));
        }

        return list;
    }
}
