using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator;

// The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup.
public sealed partial class GroupCoordinator
{
    private static string HeartbeatKey(string groupId, string memberId) => "hb|" + groupId + "|" + memberId;

    private static string PendingKey(string groupId, string memberId) => "pending|" + groupId + "|" + memberId;

    private static string JoinKey(string groupId) => "join|" + groupId;

    private static string SyncKey(string groupId) => "sync|" + groupId;

    public async Task<JoinGroupResult> JoinGroupAsync(JoinGroupInput input, CancellationToken cancellationToken = default)
    {
        Task<JoinGroupResult> result;
        Task append = Task.CompletedTask;
        lock (_lock)
        {
            result = JoinGroup(input, ref append);
        }

        var joined = await result.WaitAsync(cancellationToken).ConfigureAwait(false);
        var error = await AwaitAppend(append).ConfigureAwait(false);
        return error == ErrorCode.None ? joined : JoinGroupResult.Failed(error, input.MemberId);
    }

    private Task<JoinGroupResult> JoinGroup(JoinGroupInput input, ref Task append)
    {
        var error = CheckCoordinator(input.GroupId, out var partition);
        if (error != ErrorCode.None)
        {
            return Task.FromResult(JoinGroupResult.Failed(error, input.MemberId));
        }

        if (string.IsNullOrEmpty(input.GroupId))
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.InvalidGroupId, input.MemberId));
        }

        if (input.SessionTimeoutMs < _config.GroupMinSessionTimeoutMs || input.SessionTimeoutMs > _config.GroupMaxSessionTimeoutMs)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.InvalidSessionTimeout, input.MemberId));
        }

        _groups.TryGetValue(input.GroupId, out var existing);
        if (existing is ConsumerGroup consumerGroup)
        {
            if (!consumerGroup.IsEmpty)
            {
                return Task.FromResult(JoinGroupResult.Failed(ErrorCode.InconsistentGroupProtocol, input.MemberId));
            }

            // An empty consumer group becomes a classic one, keeping its committed offsets (KIP-848 downgrade).
            existing = ConvertToClassic(consumerGroup);
        }

        var group = existing as ClassicGroup;
        if (group is null)
        {
            if (input.MemberId.Length > 0)
            {
                return Task.FromResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, input.MemberId));
            }

            group = new ClassicGroup(input.GroupId, partition) { CurrentStateTimestamp = NowMs };
            _groups[input.GroupId] = group;
        }

        if (group.State == ClassicGroupState.Dead)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.CoordinatorNotAvailable, input.MemberId));
        }

        if (!group.SupportsProtocols(input.ProtocolType, input.Protocols))
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.InconsistentGroupProtocol, input.MemberId));
        }

        return input.MemberId.Length == 0 ? JoinNewMember(group, input, ref append) : JoinExistingMember(group, input);
    }

    private Task<JoinGroupResult> JoinNewMember(ClassicGroup group, JoinGroupInput input, ref Task append)
    {
        var memberId = (input.ClientId.Length > 0 ? input.ClientId : "member") + "-" + Guid.NewGuid().ToString();
        if (input.GroupInstanceId is not null && group.StaticMembers.TryGetValue(input.GroupInstanceId, out var oldMemberId) && group.Members.ContainsKey(oldMemberId))
        {
            return ReplaceStaticMember(group, input, oldMemberId, memberId, ref append);
        }

        if (group.Members.Count + group.PendingMembers.Count >= _config.GroupMaxSize)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.GroupMaxSizeReached));
        }

        if (input.GroupInstanceId is null && input.RequireKnownMemberId)
        {
            // KIP-394: hand out the member id first; the member joins for real with it, so a client
            // that keeps retrying a timed-out join never leaves a trail of ghost members.
            group.PendingMembers.Add(memberId);
            Schedule(PendingKey(group.GroupId, memberId), input.SessionTimeoutMs, () => ExpirePendingMember(group, memberId));
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.MemberIdRequired, memberId));
        }

        return AddMemberAndRebalance(group, input, memberId);
    }

    private Task<JoinGroupResult> JoinExistingMember(ClassicGroup group, JoinGroupInput input)
    {
        var memberId = input.MemberId;
        if (group.PendingMembers.Remove(memberId))
        {
            Cancel(PendingKey(group.GroupId, memberId));
            return AddMemberAndRebalance(group, input, memberId);
        }

        var memberError = ValidateMember(group, memberId, input.GroupInstanceId);
        if (memberError != ErrorCode.None)
        {
            return Task.FromResult(JoinGroupResult.Failed(memberError, memberId));
        }

        var member = group.Members[memberId];

        switch (group.State)
        {
            case ClassicGroupState.PreparingRebalance:
                return UpdateMemberAndAwaitJoin(group, member, input);

            case ClassicGroupState.CompletingRebalance:
                if (member.SameProtocols(input.Protocols))
                {
                    // The member's JoinGroup response got lost: answer it again with the current generation.
                    ScheduleHeartbeat(group, member);
                    return Task.FromResult(CurrentJoinResult(group, member, skipAssignment: false));
                }

                var waiter = UpdateMemberAndAwaitJoin(group, member, input);
                PrepareRebalance(group);
                return waiter;

            case ClassicGroupState.Stable:
                if (member.MemberId == group.LeaderId || !member.SameProtocols(input.Protocols))
                {
                    // A leader's rejoin means it saw a metadata change (e.g. new partitions): rebalance.
                    var stableWaiter = UpdateMemberAndAwaitJoin(group, member, input);
                    PrepareRebalance(group);
                    return stableWaiter;
                }

                ScheduleHeartbeat(group, member);
                return Task.FromResult(CurrentJoinResult(group, member, skipAssignment: false));

            default:
                return Task.FromResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, memberId));
        }
    }

    private Task<JoinGroupResult> AddMemberAndRebalance(ClassicGroup group, JoinGroupInput input, string memberId)
    {
        var member = new ClassicGroupMember
        {
            MemberId = memberId,
            GroupInstanceId = input.GroupInstanceId,
            ClientId = input.ClientId,
            ClientHost = input.ClientHost,
            RebalanceTimeoutMs = input.RebalanceTimeoutMs,
            SessionTimeoutMs = input.SessionTimeoutMs,
            ProtocolType = input.ProtocolType,
            Protocols = [.. input.Protocols],
            JoinWaiter = new TaskCompletionSource<JoinGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously),
        };
        if (group.Members.Count == 0)
        {
            group.ProtocolType = input.ProtocolType;
        }

        group.Members[memberId] = member;
        if (member.GroupInstanceId is not null)
        {
            group.StaticMembers[member.GroupInstanceId] = memberId;
        }

        if (group.InitialDelayActive)
        {
            group.NewMemberAdded = true;
        }

        ScheduleHeartbeat(group, member);
        var waiter = member.JoinWaiter.Task;
        if (group.State is ClassicGroupState.Stable or ClassicGroupState.CompletingRebalance or ClassicGroupState.Empty)
        {
            PrepareRebalance(group);
        }
        else
        {
            TryCompleteJoin(group);
        }

        return waiter;
    }

    private Task<JoinGroupResult> UpdateMemberAndAwaitJoin(ClassicGroup group, ClassicGroupMember member, JoinGroupInput input)
    {
        member.Protocols = [.. input.Protocols];
        member.RebalanceTimeoutMs = input.RebalanceTimeoutMs;
        member.SessionTimeoutMs = input.SessionTimeoutMs;
        member.ClientId = input.ClientId;
        member.ClientHost = input.ClientHost;

        // A second JoinGroup from the same member replaces the first (its connection likely timed out).
        member.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(ErrorCode.RebalanceInProgress, member.MemberId));
        member.JoinWaiter = new TaskCompletionSource<JoinGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = member.JoinWaiter.Task;
        ScheduleHeartbeat(group, member);
        TryCompleteJoin(group);
        return waiter;
    }

    /// <summary>
    /// KIP-345: a static member that restarts joins with an empty member id and its old instance id.
    /// It takes over the old member's place (the old id is fenced); a stable group does not rebalance.
    /// </summary>
    private Task<JoinGroupResult> ReplaceStaticMember(ClassicGroup group, JoinGroupInput input, string oldMemberId, string newMemberId, ref Task append)
    {
        var old = group.Members[oldMemberId];
        old.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, oldMemberId));
        old.JoinWaiter = null;
        old.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.FencedInstanceId));
        old.SyncWaiter = null;
        Cancel(HeartbeatKey(group.GroupId, oldMemberId));

        var member = new ClassicGroupMember
        {
            MemberId = newMemberId,
            GroupInstanceId = input.GroupInstanceId,
            ClientId = input.ClientId,
            ClientHost = input.ClientHost,
            RebalanceTimeoutMs = input.RebalanceTimeoutMs,
            SessionTimeoutMs = input.SessionTimeoutMs,
            ProtocolType = input.ProtocolType,
            Protocols = [.. input.Protocols],
            Assignment = old.Assignment,
        };

        var index = group.Members.IndexOf(oldMemberId);
        group.Members.RemoveAt(index);
        group.Members.Insert(index, newMemberId, member);
        group.StaticMembers[input.GroupInstanceId!] = newMemberId;
        var wasLeader = group.LeaderId == oldMemberId;
        if (wasLeader)
        {
            group.LeaderId = newMemberId;
        }

        ScheduleHeartbeat(group, member);

        // As Kafka: a stable group stays put unless the new member's protocols change which protocol
        // the group would pick (its metadata, e.g. the partitions it owns, may differ after a restart).
        var protocolStays = group.State == ClassicGroupState.Stable && group.ProtocolName is not null && group.SelectProtocol() == group.ProtocolName;
        switch (group.State)
        {
            case ClassicGroupState.Stable when protocolStays:
                // The leader learns it leads but must not reassign: the assignment stands (JoinGroup v9 SkipAssignment).
                append = Append(group.Partition, GroupMetadataRecord(group));
                return Task.FromResult(CurrentJoinResult(group, member, skipAssignment: wasLeader));

            case ClassicGroupState.PreparingRebalance:
                member.JoinWaiter = new TaskCompletionSource<JoinGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                var waiter = member.JoinWaiter.Task;
                TryCompleteJoin(group);
                return waiter;

            default:
                member.JoinWaiter = new TaskCompletionSource<JoinGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                var rebalanceWaiter = member.JoinWaiter.Task;
                PrepareRebalance(group);
                return rebalanceWaiter;
        }
    }

    private JoinGroupResult CurrentJoinResult(ClassicGroup group, ClassicGroupMember member, bool skipAssignment)
    {
        var isLeader = member.MemberId == group.LeaderId;
        IReadOnlyList<JoinGroupMember> members = isLeader && group.ProtocolName is not null
            ? [.. group.Members.Values.Select(m => new JoinGroupMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(group.ProtocolName) ?? []))]
            : [];
        return new JoinGroupResult(ErrorCode.None, group.GenerationId, group.ProtocolType, group.ProtocolName, group.LeaderId ?? string.Empty, skipAssignment, member.MemberId, members);
    }

    private void PrepareRebalance(ClassicGroup group)
    {
        if (group.State == ClassicGroupState.CompletingRebalance)
        {
            foreach (var m in group.Members.Values)
            {
                m.Assignment = [];
                m.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                m.SyncWaiter = null;
            }
        }

        Cancel(SyncKey(group.GroupId));
        group.PendingSyncMembers.Clear();
        var wasEmpty = group.State == ClassicGroupState.Empty;
        group.TransitionTo(ClassicGroupState.PreparingRebalance, NowMs);
        if (wasEmpty && _config.GroupInitialRebalanceDelayMs > 0)
        {
            // group.initial.rebalance.delay.ms: wait for more members before the first generation,
            // extending while new members keep arriving, but never beyond the rebalance timeout.
            group.InitialDelayActive = true;
            group.NewMemberAdded = false;
            var delay = Math.Min(_config.GroupInitialRebalanceDelayMs, Math.Max(group.MaxRebalanceTimeoutMs, 0));
            group.InitialDelayRemainingMs = Math.Max(group.MaxRebalanceTimeoutMs - delay, 0);
            Schedule(JoinKey(group.GroupId), delay, () => OnInitialDelayExpired(group));
            return;
        }

        var timeout = Math.Max(group.MaxRebalanceTimeoutMs, 0);
        Schedule(JoinKey(group.GroupId), timeout, () => CompleteJoin(group));
        TryCompleteJoin(group);
    }

    private void OnInitialDelayExpired(ClassicGroup group)
    {
        if (group.NewMemberAdded && group.InitialDelayRemainingMs > 0)
        {
            group.NewMemberAdded = false;
            var delay = Math.Min(_config.GroupInitialRebalanceDelayMs, group.InitialDelayRemainingMs);
            group.InitialDelayRemainingMs -= delay;
            Schedule(JoinKey(group.GroupId), delay, () => OnInitialDelayExpired(group));
            return;
        }

        group.InitialDelayActive = false;
        CompleteJoin(group);
    }

    private void TryCompleteJoin(ClassicGroup group)
    {
        if (group.State == ClassicGroupState.PreparingRebalance && !group.InitialDelayActive && group.HasAllMembersJoined)
        {
            CompleteJoin(group);
        }
    }

    private void CompleteJoin(ClassicGroup group)
    {
        if (group.State != ClassicGroupState.PreparingRebalance)
        {
            return;
        }

        Cancel(JoinKey(group.GroupId));
        group.InitialDelayActive = false;

        // Dynamic members that did not rejoin in time are gone; static ones keep their place (KIP-345).
        foreach (var m in group.Members.Values.Where(m => !m.IsAwaitingJoin && !m.IsStatic).ToList())
        {
            RemoveMember(group, m, "did not rejoin before the rebalance timeout");
        }

        if (group.Members.Count == 0)
        {
            group.GenerationId++;
            group.ProtocolName = null;
            group.LeaderId = null;
            group.TransitionTo(ClassicGroupState.Empty, NowMs);
            Append(group.Partition, GroupMetadataRecord(group));
            GroupLog.GenerationStarted(_logger, group.GroupId, group.GenerationId, null, 0);
            return;
        }

        if (!group.Members.Values.Any(m => m.IsAwaitingJoin))
        {
            // Only static members that have not rejoined remain: wait for them another rebalance timeout.
            Schedule(JoinKey(group.GroupId), Math.Max(group.MaxRebalanceTimeoutMs, 0), () => CompleteJoin(group));
            return;
        }

        group.GenerationId++;
        group.ProtocolName = group.SelectProtocol();
        if (group.LeaderId is null || !group.Members.TryGetValue(group.LeaderId, out var leader) || !leader.IsAwaitingJoin)
        {
            group.LeaderId = group.Members.Values.First(m => m.IsAwaitingJoin).MemberId;
        }

        group.TransitionTo(ClassicGroupState.CompletingRebalance, NowMs);
        GroupLog.GenerationStarted(_logger, group.GroupId, group.GenerationId, group.ProtocolName, group.Members.Count);

        // Members that never send SyncGroup would hold the generation forever (a heartbeat keeps
        // them alive): as Kafka, they get one rebalance timeout to sync, then are removed.
        group.PendingSyncMembers.Clear();
        group.PendingSyncMembers.UnionWith(group.Members.Keys);
        Schedule(SyncKey(group.GroupId), Math.Max(group.MaxRebalanceTimeoutMs, 0), () => OnSyncTimeout(group, group.GenerationId));
        foreach (var m in group.Members.Values)
        {
            if (m.JoinWaiter is { } waiter)
            {
                m.JoinWaiter = null;
                waiter.TrySetResult(CurrentJoinResult(group, m, skipAssignment: false));
            }

            ScheduleHeartbeat(group, m);
        }
    }

    private void OnSyncTimeout(ClassicGroup group, int generationId)
    {
        if (group.GenerationId != generationId || group.State is not (ClassicGroupState.CompletingRebalance or ClassicGroupState.Stable) || group.PendingSyncMembers.Count == 0)
        {
            return;
        }

        foreach (var memberId in group.PendingSyncMembers.ToList())
        {
            if (group.Members.TryGetValue(memberId, out var member))
            {
                RemoveMember(group, member, "did not sync before the rebalance timeout");
            }
        }

        group.PendingSyncMembers.Clear();
        PrepareRebalance(group);
    }

    private void ScheduleHeartbeat(ClassicGroup group, ClassicGroupMember member) =>
        Schedule(HeartbeatKey(group.GroupId, member.MemberId), member.SessionTimeoutMs, () => OnHeartbeatExpired(group, member.MemberId));

    private void OnHeartbeatExpired(ClassicGroup group, string memberId)
    {
        if (!group.Members.TryGetValue(memberId, out var member))
        {
            return;
        }

        if (member.IsAwaitingJoin)
        {
            // A member waiting in JoinGroup is alive by definition: its request is parked here.
            ScheduleHeartbeat(group, member);
            return;
        }

        RemoveMemberAndUpdateGroup(group, member, "session timeout expired");
    }

    private void ExpirePendingMember(ClassicGroup group, string memberId)
    {
        if (group.PendingMembers.Remove(memberId))
        {
            TryCompleteJoin(group);
        }
    }

    private void RemoveMember(ClassicGroup group, ClassicGroupMember member, string reason)
    {
        group.Members.Remove(member.MemberId);
        group.PendingSyncMembers.Remove(member.MemberId);
        if (member.GroupInstanceId is not null && group.StaticMembers.TryGetValue(member.GroupInstanceId, out var id) && id == member.MemberId)
        {
            group.StaticMembers.Remove(member.GroupInstanceId);
        }

        Cancel(HeartbeatKey(group.GroupId, member.MemberId));
        member.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, member.MemberId));
        member.JoinWaiter = null;
        member.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        member.SyncWaiter = null;
        if (group.LeaderId == member.MemberId)
        {
            group.LeaderId = group.Members.Count > 0 ? group.Members.GetAt(0).Key : null;
        }

        GroupLog.MemberRemoved(_logger, member.MemberId, group.GroupId, reason);
    }

    private void RemoveMemberAndUpdateGroup(ClassicGroup group, ClassicGroupMember member, string reason)
    {
        RemoveMember(group, member, reason);
        switch (group.State)
        {
            case ClassicGroupState.Stable:
            case ClassicGroupState.CompletingRebalance:
                PrepareRebalance(group);
                break;
            case ClassicGroupState.PreparingRebalance:
                TryCompleteJoin(group);
                break;
        }
    }

    public async Task<SyncGroupResult> SyncGroupAsync(SyncGroupInput input, CancellationToken cancellationToken = default)
    {
        Task<SyncGroupResult> result;
        var append = Task.CompletedTask;
        lock (_lock)
        {
            result = SyncGroup(input, ref append);
        }

        var error = await AwaitAppend(append).ConfigureAwait(false);
        var synced = await result.WaitAsync(cancellationToken).ConfigureAwait(false);
        return error == ErrorCode.None ? synced : SyncGroupResult.Failed(error);
    }

    private Task<SyncGroupResult> SyncGroup(SyncGroupInput input, ref Task append)
    {
        var error = CheckCoordinator(input.GroupId, out _);
        if (error != ErrorCode.None)
        {
            return Task.FromResult(SyncGroupResult.Failed(error));
        }

        if (!_groups.TryGetValue(input.GroupId, out var g) || g is not ClassicGroup group)
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }

        error = ValidateMember(group, input.MemberId, input.GroupInstanceId);
        if (error != ErrorCode.None)
        {
            return Task.FromResult(SyncGroupResult.Failed(error));
        }

        if (input.GenerationId != group.GenerationId)
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.IllegalGeneration));
        }

        if ((input.ProtocolType is not null && input.ProtocolType != group.ProtocolType) || (input.ProtocolName is not null && input.ProtocolName != group.ProtocolName))
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.InconsistentGroupProtocol));
        }

        var member = group.Members[input.MemberId];
        if (group.State is ClassicGroupState.CompletingRebalance or ClassicGroupState.Stable && group.PendingSyncMembers.Remove(member.MemberId) && group.PendingSyncMembers.Count == 0)
        {
            Cancel(SyncKey(group.GroupId));
        }

        switch (group.State)
        {
            case ClassicGroupState.PreparingRebalance:
                return Task.FromResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));

            case ClassicGroupState.CompletingRebalance:
            {
                member.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                member.SyncWaiter = new TaskCompletionSource<SyncGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                var waiter = member.SyncWaiter.Task;
                ScheduleHeartbeat(group, member);
                if (member.MemberId == group.LeaderId)
                {
                    var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                    foreach (var a in input.Assignments)
                    {
                        assignments[a.MemberId] = a.Assignment;
                    }

                    foreach (var m in group.Members.Values)
                    {
                        m.Assignment = assignments.GetValueOrDefault(m.MemberId) ?? [];
                    }

                    group.TransitionTo(ClassicGroupState.Stable, NowMs);
                    append = Append(group.Partition, GroupMetadataRecord(group));
                    foreach (var m in group.Members.Values)
                    {
                        if (m.SyncWaiter is { } sync)
                        {
                            m.SyncWaiter = null;
                            sync.TrySetResult(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, m.Assignment));
                        }
                    }
                }

                return waiter;
            }

            case ClassicGroupState.Stable:
                ScheduleHeartbeat(group, member);
                return Task.FromResult(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment));

            default:
                return Task.FromResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }
    }

    /// <summary>UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID, checked as Kafka checks them for Sync, Heartbeat and OffsetCommit.</summary>
    /// <remarks>
    /// Without an instance id (older request versions have none) only membership is checked, as in
    /// Kafka; with one, it must name this member id.
    /// </remarks>
    private static ErrorCode ValidateMember(ClassicGroup group, string memberId, string? groupInstanceId)
    {
        if (groupInstanceId is not null)
        {
            if (!group.StaticMembers.TryGetValue(groupInstanceId, out var current))
            {
                return ErrorCode.UnknownMemberId;
            }

            return current == memberId ? ErrorCode.None : ErrorCode.FencedInstanceId;
        }

        return group.Members.ContainsKey(memberId) ? ErrorCode.None : ErrorCode.UnknownMemberId;
    }

    public Task<ErrorCode> HeartbeatAsync(HeartbeatInput input, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(Heartbeat(input));
        }
    }

    private ErrorCode Heartbeat(HeartbeatInput input)
    {
        var error = CheckCoordinator(input.GroupId, out _);
        if (error != ErrorCode.None)
        {
            return error;
        }

        if (!_groups.TryGetValue(input.GroupId, out var g) || g is not ClassicGroup group || group.State is ClassicGroupState.Empty or ClassicGroupState.Dead)
        {
            return ErrorCode.UnknownMemberId;
        }

        error = ValidateMember(group, input.MemberId, input.GroupInstanceId);
        if (error != ErrorCode.None)
        {
            return error;
        }

        if (input.GenerationId != group.GenerationId)
        {
            return ErrorCode.IllegalGeneration;
        }

        ScheduleHeartbeat(group, group.Members[input.MemberId]);

        // Members may heartbeat between their JoinGroup and SyncGroup responses: that is not a rebalance to them.
        return group.State == ClassicGroupState.PreparingRebalance ? ErrorCode.RebalanceInProgress : ErrorCode.None;
    }

    public Task<LeaveGroupResult> LeaveGroupAsync(LeaveGroupInput input, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var error = CheckCoordinator(input.GroupId, out _);
            if (error != ErrorCode.None)
            {
                return Task.FromResult(new LeaveGroupResult(error, []));
            }

            if (!_groups.TryGetValue(input.GroupId, out var g) || g is not ClassicGroup group)
            {
                return Task.FromResult(new LeaveGroupResult(ErrorCode.UnknownMemberId, [.. input.Members.Select(m => new LeaveGroupMemberResult(m.MemberId, m.GroupInstanceId, ErrorCode.UnknownMemberId))]));
            }

            var results = new List<LeaveGroupMemberResult>(input.Members.Count);
            var removedAny = false;
            foreach (var leaving in input.Members)
            {
                var memberId = leaving.MemberId;
                if (memberId.Length == 0 && leaving.GroupInstanceId is not null)
                {
                    // KIP-345: an admin removes a static member by instance id alone.
                    memberId = group.StaticMembers.GetValueOrDefault(leaving.GroupInstanceId) ?? string.Empty;
                }

                if (group.PendingMembers.Remove(memberId))
                {
                    Cancel(PendingKey(group.GroupId, memberId));
                    results.Add(new LeaveGroupMemberResult(leaving.MemberId, leaving.GroupInstanceId, ErrorCode.None));
                    removedAny = true;
                    continue;
                }

                var memberError = memberId.Length == 0 ? ErrorCode.UnknownMemberId : ValidateMember(group, memberId, leaving.GroupInstanceId);
                if (memberError == ErrorCode.None)
                {
                    RemoveMember(group, group.Members[memberId], leaving.Reason ?? "left the group");
                    removedAny = true;
                }

                results.Add(new LeaveGroupMemberResult(leaving.MemberId, leaving.GroupInstanceId, memberError));
            }

            if (removedAny)
            {
                switch (group.State)
                {
                    case ClassicGroupState.Stable:
                    case ClassicGroupState.CompletingRebalance:
                        PrepareRebalance(group);
                        break;
                    case ClassicGroupState.PreparingRebalance:
                        TryCompleteJoin(group);
                        break;
                }
            }

            return Task.FromResult(new LeaveGroupResult(ErrorCode.None, results));
        }
    }

    private static CoordinatorRecord GroupMetadataRecord(ClassicGroup group) =>
        GroupCoordinatorRecords.GroupMetadata(group.GroupId, new GroupMetadataValue(
            group.ProtocolType ?? string.Empty,
            group.GenerationId,
            group.ProtocolName,
            group.LeaderId,
            group.CurrentStateTimestamp,
            [.. group.Members.Values.Select(m => new GroupMetadataMember(
                m.MemberId,
                m.GroupInstanceId,
                m.ClientId,
                m.ClientHost,
                m.RebalanceTimeoutMs,
                m.SessionTimeoutMs,
                group.ProtocolName is null ? [] : m.MetadataFor(group.ProtocolName) ?? [],
                m.Assignment))]));

    private ClassicGroup ConvertToClassic(ConsumerGroup consumerGroup)
    {
        var records = new List<CoordinatorRecord>();
        WriteConsumerGroupTombstones(consumerGroup, records);
        Append(consumerGroup.Partition, records);
        RemoveGroup(consumerGroup);
        var group = new ClassicGroup(consumerGroup.GroupId, consumerGroup.Partition) { CurrentStateTimestamp = NowMs };
        foreach (var (key, value) in consumerGroup.Offsets)
        {
            group.Offsets[key] = value;
        }

        _groups[group.GroupId] = group;
        return group;
    }
}
