using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator;

// Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete and retention (KIP-211).
public sealed partial class GroupCoordinator
{
    public async Task<OffsetCommitResult> CommitOffsetsAsync(OffsetCommitInput input, CancellationToken cancellationToken = default)
    {
        Task append;
        List<TopicPartitionError> results;
        lock (_lock)
        {
            var error = ValidateOffsetCommit(input, out var group);
            if (error != ErrorCode.None)
            {
                return new OffsetCommitResult([.. AllPartitions(input, error)]);
            }

            if (group is null)
            {
                group = new ClassicGroup(input.GroupId, PartitionFor(input.GroupId)) { CurrentStateTimestamp = NowMs };
                _groups[input.GroupId] = group;
            }

            var now = NowMs;

            // OffsetCommit v2-v4 carried a retention time; a positive one still sets an expire timestamp.
            var expire = input.RetentionTimeMs > 0 ? now + input.RetentionTimeMs : -1;
            var (accepted, records, partitionResults) = OffsetCommitRecords(input.GroupId, input.Topics, now, expire);
            results = partitionResults;
            foreach (var (tp, value) in accepted)
            {
                group!.Offsets[tp] = value;
            }

            append = Append(group!.Partition, records);
        }

        return await CommitResultAsync(append, results).ConfigureAwait(false);
    }

    /// <summary>
    /// The offsets of a commit as records, with each partition's result: metadata over
    /// <c>offset.metadata.max.bytes</c> is refused per partition, the rest is accepted.
    /// </summary>
    private (List<((string Topic, int Partition) Partition, OffsetCommitValue Value)> Accepted, List<CoordinatorRecord> Records, List<TopicPartitionError> Results)
        OffsetCommitRecords(string groupId, IEnumerable<OffsetCommitTopic> topics, long now, long expire)
    {
        var accepted = new List<((string Topic, int Partition) Partition, OffsetCommitValue Value)>();
        var records = new List<CoordinatorRecord>();
        var results = new List<TopicPartitionError>();
        foreach (var topic in topics)
        {
            foreach (var p in topic.Partitions)
            {
                var metadata = p.Metadata ?? string.Empty;
                if (metadata.Length > _config.OffsetMetadataMaxBytes)
                {
                    results.Add(new TopicPartitionError(topic.Name, p.Partition, ErrorCode.OffsetMetadataTooLarge));
                    continue;
                }

                var value = new OffsetCommitValue(p.Offset, p.LeaderEpoch, metadata, now, expire);
                accepted.Add(((topic.Name, p.Partition), value));
                records.Add(GroupCoordinatorRecords.OffsetCommit(new OffsetCommitKey(groupId, topic.Name, p.Partition), value));
                results.Add(new TopicPartitionError(topic.Name, p.Partition, ErrorCode.None));
            }
        }

        return (accepted, records, results);
    }

    /// <summary>Waits for the commit's append; a failed append turns every accepted partition into its error.</summary>
    private static async Task<OffsetCommitResult> CommitResultAsync(Task append, List<TopicPartitionError> results)
    {
        var appendError = await AwaitAppend(append).ConfigureAwait(false);
        return appendError == ErrorCode.None
            ? new OffsetCommitResult(results)
            : new OffsetCommitResult([.. results.Select(r => r.Error == ErrorCode.None ? r with { Error = appendError } : r)]);
    }

    public ErrorCode ValidateTransactionalOffsetCommit(string groupId, int generationIdOrMemberEpoch, string memberId, string? groupInstanceId)
    {
        lock (_lock)
        {
            var input = new OffsetCommitInput(groupId, generationIdOrMemberEpoch, memberId, groupInstanceId, -1, []);
            // A missing group is created at the marker, not now.
            return ValidateOffsetCommit(input, out _, txnOffsetCommit: true);
        }
    }

    private static IEnumerable<TopicPartitionError> AllPartitions(OffsetCommitInput input, ErrorCode error) =>
        input.Topics.SelectMany(t => t.Partitions.Select(p => new TopicPartitionError(t.Name, p.Partition, error)));

    /// <summary>
    /// Kafka's offset commit validation (its OffsetMetadataManager and the groups' own checks). A
    /// generation (member epoch) below zero marks a commit from outside group management: it is
    /// accepted when the group is empty or missing (<paramref name="group"/> is then null and the
    /// commit creates a simple group).
    /// Otherwise the member and its generation must match. <paramref name="txnOffsetCommit"/> is
    /// TxnOffsetCommit's variant: its v0–v2 carry no member, so a commit naming none is accepted
    /// whatever the group's members, and a rebalance in progress does not stop it (the offsets only
    /// land if the transaction commits).
    /// </summary>
    private ErrorCode ValidateOffsetCommit(OffsetCommitInput input, out Group? group, bool txnOffsetCommit = false)
    {
        group = null;
        var error = CheckCoordinator(input.GroupId, out _);
        if (error != ErrorCode.None)
        {
            return error;
        }

        if (string.IsNullOrEmpty(input.GroupId))
        {
            return ErrorCode.InvalidGroupId;
        }

        if (input.Transactional && _groups.TryGetValue(input.GroupId, out group))
        {
            // A committed transaction's offsets are materialized whatever the group did since
            // (Kafka validates the member when TxnOffsetCommit arrives, not at the marker).
            return group is ClassicGroup { State: ClassicGroupState.Dead } ? ErrorCode.CoordinatorNotAvailable : ErrorCode.None;
        }

        var generation = input.GenerationIdOrMemberEpoch;
        var namesMember = generation >= 0 || input.MemberId.Length > 0 || input.GroupInstanceId is not null;
        if (!_groups.TryGetValue(input.GroupId, out group))
        {
            if (generation >= 0)
            {
                // A member of a generation commits to a group that does not exist (any more):
                // GROUP_ID_NOT_FOUND from OffsetCommit v9, ILLEGAL_GENERATION before and for TxnOffsetCommit.
                return !txnOffsetCommit && input.ApiVersion >= 9 ? ErrorCode.GroupIdNotFound : ErrorCode.IllegalGeneration;
            }

            // A commit from outside any group protocol (manual assignment, admin tools, a KIP-848
            // client that only assigns) is accepted whatever member id it names; the caller
            // creates the simple, empty group (group stays null).
            return ErrorCode.None;
        }

        switch (group)
        {
            case ClassicGroup classic:
                if (classic.State == ClassicGroupState.Dead)
                {
                    return ErrorCode.CoordinatorNotAvailable;
                }

                if (generation < 0 && classic.State == ClassicGroupState.Empty)
                {
                    return ErrorCode.None;
                }

                if (namesMember)
                {
                    var memberError = ValidateMember(classic, input.MemberId, input.GroupInstanceId);
                    if (memberError != ErrorCode.None)
                    {
                        return memberError;
                    }

                    if (generation != classic.GenerationId)
                    {
                        return ErrorCode.IllegalGeneration;
                    }
                }
                else if (!txnOffsetCommit)
                {
                    // Not using group management while the group has members.
                    return ErrorCode.UnknownMemberId;
                }

                // The member has not received its new assignment yet; committing now could overwrite the new owner's progress.
                return !txnOffsetCommit && classic.State == ClassicGroupState.CompletingRebalance ? ErrorCode.RebalanceInProgress : ErrorCode.None;

            case ConsumerGroup consumer:
                if (generation < 0 && consumer.IsEmpty)
                {
                    return ErrorCode.None;
                }

                if (txnOffsetCommit && !namesMember)
                {
                    return ErrorCode.None;
                }

                if (!consumer.Members.TryGetValue(input.MemberId, out var member))
                {
                    return ErrorCode.UnknownMemberId;
                }

                if (generation != member.MemberEpoch)
                {
                    // OffsetCommit v9+ speaks member epochs (KIP-848); older versions only know generations.
                    return input.ApiVersion >= 9 ? ErrorCode.StaleMemberEpoch : ErrorCode.IllegalGeneration;
                }

                return ErrorCode.None;

            default:
                return ErrorCode.None;
        }
    }

    public OffsetFetchResult FetchOffsets(OffsetFetchInput input)
    {
        lock (_lock)
        {
            var error = CheckCoordinator(input.GroupId, out _);
            if (error != ErrorCode.None)
            {
                return new OffsetFetchResult(error, []);
            }

            _groups.TryGetValue(input.GroupId, out var group);
            if (input.MemberId is not null && group is ConsumerGroup consumer && (input.MemberEpoch >= 0 || input.MemberId.Length > 0))
            {
                // OffsetFetch v9: a KIP-848 member proves it still belongs to the group.
                if (!consumer.Members.TryGetValue(input.MemberId, out var member))
                {
                    return new OffsetFetchResult(ErrorCode.UnknownMemberId, []);
                }

                if (member.MemberEpoch != input.MemberEpoch)
                {
                    return new OffsetFetchResult(ErrorCode.StaleMemberEpoch, []);
                }
            }

            var offsets = new List<FetchedOffset>();
            if (input.Topics is null)
            {
                if (group is not null)
                {
                    foreach (var ((topic, partition), value) in group.Offsets.OrderBy(kv => kv.Key.Topic, StringComparer.Ordinal).ThenBy(kv => kv.Key.Partition))
                    {
                        offsets.Add(input.RequireStable && HasPendingLocked(input.GroupId, topic, partition)
                            ? Unstable(topic, partition)
                            : new FetchedOffset(topic, partition, value.Offset, value.LeaderEpoch, value.Metadata, ErrorCode.None));
                    }
                }

                return new OffsetFetchResult(ErrorCode.None, offsets);
            }

            foreach (var topic in input.Topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    if (input.RequireStable && HasPendingLocked(input.GroupId, topic.Name, partition))
                    {
                        // KIP-447: the client retries until the transaction holding this partition's offset ends.
                        offsets.Add(Unstable(topic.Name, partition));
                    }
                    else if (group is not null && group.Offsets.TryGetValue((topic.Name, partition), out var value))
                    {
                        offsets.Add(new FetchedOffset(topic.Name, partition, value.Offset, value.LeaderEpoch, value.Metadata, ErrorCode.None));
                    }
                    else
                    {
                        offsets.Add(new FetchedOffset(topic.Name, partition, -1, -1, string.Empty, ErrorCode.None));
                    }
                }
            }

            return new OffsetFetchResult(ErrorCode.None, offsets);
        }
    }

    private static FetchedOffset Unstable(string topic, int partition) => new(topic, partition, -1, -1, string.Empty, ErrorCode.UnstableOffsetCommit);

    public async Task<OffsetDeleteResult> DeleteOffsetsAsync(OffsetDeleteInput input, CancellationToken cancellationToken = default)
    {
        Task append;
        var results = new List<TopicPartitionError>();
        lock (_lock)
        {
            var error = CheckCoordinator(input.GroupId, out _);
            if (error != ErrorCode.None)
            {
                return new OffsetDeleteResult(error, []);
            }

            if (!_groups.TryGetValue(input.GroupId, out var group) || group is ClassicGroup { State: ClassicGroupState.Dead })
            {
                return new OffsetDeleteResult(ErrorCode.GroupIdNotFound, []);
            }

            if (group is ClassicGroup classic && !classic.IsEmpty && classic.ProtocolType != "consumer")
            {
                // Only consumer groups say which topics they read; for others Kafka refuses while members exist.
                return new OffsetDeleteResult(ErrorCode.NonEmptyGroup, []);
            }

            var records = new List<CoordinatorRecord>();
            foreach (var topic in input.Topics)
            {
                var subscribed = group.IsSubscribedTo(topic.Name);
                foreach (var partition in topic.Partitions)
                {
                    if (subscribed)
                    {
                        results.Add(new TopicPartitionError(topic.Name, partition, ErrorCode.GroupSubscribedToTopic));
                        continue;
                    }

                    if (group.Offsets.Remove((topic.Name, partition)))
                    {
                        records.Add(GroupCoordinatorRecords.OffsetCommit(new OffsetCommitKey(input.GroupId, topic.Name, partition), null));
                    }

                    results.Add(new TopicPartitionError(topic.Name, partition, ErrorCode.None));
                }
            }

            append = Append(group.Partition, records);
        }

        var appendError = await AwaitAppend(append).ConfigureAwait(false);
        return new OffsetDeleteResult(appendError, results);
    }

    private void ScheduleOffsetExpiration() =>
        Schedule("offsets-expiration", _config.OffsetsRetentionCheckIntervalMs, () =>
        {
            ExpireOffsets();
            ScheduleOffsetExpiration();
        });

    /// <summary>
    /// Offset retention (KIP-211): an empty group's offsets expire <c>offsets.retention.minutes</c>
    /// after it became empty; a group with members keeps offsets of topics it consumes, and the
    /// others expire that long after their commit. An explicit expire timestamp (OffsetCommit v2-v4)
    /// wins. A group left with neither members nor offsets is deleted.
    /// </summary>
    internal void ExpireOffsets()
    {
        var now = NowMs;
        var retention = (long)_config.OffsetsRetentionMinutes * 60_000;
        var expiredOffsets = 0;
        var expiredGroups = 0;
        foreach (var group in _groups.Values.ToList())
        {
            if (!_partitions.TryGetValue(group.Partition, out var status) || status != PartitionStatus.Active)
            {
                continue;
            }

            var records = new List<CoordinatorRecord>();
            foreach (var ((topic, partition), value) in group.Offsets.ToList())
            {
                bool expired;
                if (value.ExpireTimestamp >= 0)
                {
                    expired = now >= value.ExpireTimestamp;
                }
                else if (group.IsEmpty)
                {
                    var since = group is ClassicGroup { ProtocolType: not null } && group.CurrentStateTimestamp >= 0 ? group.CurrentStateTimestamp : value.CommitTimestamp;
                    expired = now - since >= retention;
                }
                else
                {
                    expired = group is ClassicGroup { ProtocolType: "consumer" } or ConsumerGroup && !group.IsSubscribedTo(topic) && now - value.CommitTimestamp >= retention;
                }

                if (expired)
                {
                    group.Offsets.Remove((topic, partition));
                    records.Add(GroupCoordinatorRecords.OffsetCommit(new OffsetCommitKey(group.GroupId, topic, partition), null));
                    expiredOffsets++;
                }
            }

            // As Kafka, a group an open transaction commits offsets to is kept until the transaction ends.
            if (group.IsEmpty && group.Offsets.Count == 0 && group is not ClassicGroup { State: not ClassicGroupState.Empty }
                && !HasPendingForGroupLocked(group.GroupId))
            {
                WriteGroupTombstones(group, records);
                RemoveGroup(group);
                expiredGroups++;
            }

            Append(group.Partition, records);
        }

        if (expiredOffsets > 0 || expiredGroups > 0)
        {
            GroupLog.OffsetsExpired(_logger, expiredOffsets, expiredGroups);
        }
    }

    private static void WriteGroupTombstones(Group group, List<CoordinatorRecord> records)
    {
        if (group is ConsumerGroup consumer)
        {
            WriteConsumerGroupTombstones(consumer, records);
        }
        else
        {
            records.Add(GroupCoordinatorRecords.GroupMetadata(group.GroupId, null));
        }
    }
}
