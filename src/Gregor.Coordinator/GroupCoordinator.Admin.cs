using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator;

// Group administration: ListGroups, DescribeGroups, DeleteGroups.
public sealed partial class GroupCoordinator
{
    public ListGroupsResult ListGroups(IReadOnlyCollection<string>? statesFilter = null, IReadOnlyCollection<string>? typesFilter = null)
    {
        lock (_lock)
        {
            var groups = new List<ListedGroup>();
            foreach (var group in _groups.Values.OrderBy(g => g.GroupId, StringComparer.Ordinal))
            {
                if (!_partitions.TryGetValue(group.Partition, out var status) || status != PartitionStatus.Active)
                {
                    continue;
                }

                var type = group.Type == GroupType.Classic ? "classic" : "consumer";
                var protocolType = group is ClassicGroup classic ? classic.ProtocolType ?? string.Empty : "consumer";
                if (statesFilter is { Count: > 0 } && !statesFilter.Contains(group.StateName, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (typesFilter is { Count: > 0 } && !typesFilter.Contains(type, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }

                groups.Add(new ListedGroup(group.GroupId, protocolType, group.StateName, type));
            }

            // Kafka answers COORDINATOR_LOAD_IN_PROGRESS while any partition loads: the list would be partial.
            var loading = _partitions.Values.Any(s => s == PartitionStatus.Loading);
            return new ListGroupsResult(loading ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None, groups);
        }
    }

    public IReadOnlyList<GroupDescription> DescribeGroups(IReadOnlyList<string> groupIds)
    {
        lock (_lock)
        {
            var result = new List<GroupDescription>(groupIds.Count);
            foreach (var groupId in groupIds)
            {
                var error = CheckCoordinator(groupId, out _);
                if (error != ErrorCode.None)
                {
                    result.Add(new GroupDescription(error, null, groupId, string.Empty, string.Empty, string.Empty, []));
                    continue;
                }

                _groups.TryGetValue(groupId, out var group);
                switch (group)
                {
                    case null:
                        // DescribeGroups v6 turns this into GROUP_ID_NOT_FOUND; older versions report a Dead group.
                        result.Add(new GroupDescription(ErrorCode.GroupIdNotFound, $"Group {groupId} not found.", groupId, "Dead", string.Empty, string.Empty, []));
                        break;

                    case ConsumerGroup:
                        result.Add(new GroupDescription(ErrorCode.GroupIdNotFound, $"Group {groupId} is not a classic group.", groupId, "Dead", string.Empty, string.Empty, []));
                        break;

                    case ClassicGroup classic:
                    {
                        var stable = classic.State == ClassicGroupState.Stable;
                        var members = classic.Members.Values.Select(m => new DescribedGroupMember(
                            m.MemberId,
                            m.GroupInstanceId,
                            m.ClientId,
                            m.ClientHost,
                            stable && classic.ProtocolName is not null ? m.MetadataFor(classic.ProtocolName) ?? [] : [],
                            stable ? m.Assignment : [])).ToList();
                        result.Add(new GroupDescription(
                            ErrorCode.None,
                            null,
                            groupId,
                            classic.StateName,
                            classic.ProtocolType ?? string.Empty,
                            stable ? classic.ProtocolName ?? string.Empty : string.Empty,
                            members));
                        break;
                    }
                }
            }

            return result;
        }
    }

    public async Task<IReadOnlyList<DeleteGroupResult>> DeleteGroupsAsync(IReadOnlyList<string> groupIds, CancellationToken cancellationToken = default)
    {
        var results = new List<DeleteGroupResult>(groupIds.Count);
        var appends = new List<Task>();
        lock (_lock)
        {
            foreach (var groupId in groupIds)
            {
                var error = CheckCoordinator(groupId, out _);
                if (error == ErrorCode.None)
                {
                    if (!_groups.TryGetValue(groupId, out var group) || group is ClassicGroup { State: ClassicGroupState.Dead })
                    {
                        error = ErrorCode.GroupIdNotFound;
                    }
                    else if (!group.IsEmpty)
                    {
                        error = ErrorCode.NonEmptyGroup;
                    }
                    else
                    {
                        var records = new List<CoordinatorRecord>();
                        foreach (var (topic, partition) in group.Offsets.Keys)
                        {
                            records.Add(GroupCoordinatorRecords.OffsetCommit(new OffsetCommitKey(groupId, topic, partition), null));
                        }

                        WriteGroupTombstones(group, records);
                        group.Offsets.Clear();
                        if (group is ClassicGroup classic)
                        {
                            classic.TransitionTo(ClassicGroupState.Dead, NowMs);
                        }
                        else if (group is ConsumerGroup consumer)
                        {
                            consumer.IsDeleted = true;
                        }

                        RemoveGroup(group);
                        appends.Add(Append(group.Partition, records));
                    }
                }

                results.Add(new DeleteGroupResult(groupId, error));
            }
        }

        foreach (var append in appends)
        {
            var error = await AwaitAppend(append).ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                return [.. results.Select(r => r.Error == ErrorCode.None ? r with { Error = error } : r)];
            }
        }

        return results;
    }
}
