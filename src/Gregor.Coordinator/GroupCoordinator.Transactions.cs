using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;

namespace Gregor.Coordinator;

// Transactional offset commits (TxnOffsetCommit, KIP-98 and KIP-447): the offsets are written to
// __consumer_offsets at once, in a transactional batch of the producer, and kept pending per
// producer id; the transaction coordinator's COMMIT marker in the partition materialises them,
// ABORT drops them. Until then OffsetFetch answers the previous offset, or UNSTABLE_OFFSET_COMMIT
// when the client asks for stable offsets. The same happens when a partition is replayed.
public sealed partial class GroupCoordinator
{
    /// <summary>(partition, producer id) → group → partition → the offset its transaction will commit.</summary>
    private readonly Dictionary<(int Partition, long ProducerId), PendingTransactionOffsets> _pendingTxnOffsets = [];

    /// <summary>Markers that arrived while their partition was loading; applied once the replay is in.</summary>
    private readonly List<(int Partition, long ProducerId, TransactionResult Result)> _markersWhileLoading = [];

    public async Task<OffsetCommitResult> CommitTransactionalOffsetsAsync(TxnOffsetCommitInput input, CancellationToken cancellationToken = default)
    {
        Task append;
        List<TopicPartitionError> results;
        lock (_lock)
        {
            var error = ValidateTransactionalOffsetCommit(input.GroupId, input.GenerationIdOrMemberEpoch, input.MemberId, input.GroupInstanceId);
            if (error == ErrorCode.None)
            {
                error = CheckCoordinator(input.GroupId, out _);
            }

            if (error != ErrorCode.None)
            {
                return new OffsetCommitResult([.. input.Topics.SelectMany(t => t.Partitions.Select(p => new TopicPartitionError(t.Name, p.Partition, error)))]);
            }

            var partition = PartitionFor(input.GroupId);
            var now = NowMs;
            var (accepted, records, partitionResults) = OffsetCommitRecords(input.GroupId, input.Topics, now, -1);
            results = partitionResults;
            if (records.Count == 0)
            {
                return new OffsetCommitResult(results);
            }

            var pending = PendingFor(partition, input.ProducerId);
            foreach (var (tp, value) in accepted)
            {
                pending.Add(input.GroupId, tp, value);
            }

            append = AppendTransactional(partition, input.ProducerId, input.ProducerEpoch, records);
        }

        return await CommitResultAsync(append, results).ConfigureAwait(false);
    }

    public void CompleteTransaction(int partition, long producerId, TransactionResult result)
    {
        lock (_lock)
        {
            if (!_partitions.TryGetValue(partition, out var status))
            {
                // Not coordinating this partition: whoever loads it replays the marker from the log.
                return;
            }

            if (status == PartitionStatus.Loading)
            {
                _markersWhileLoading.Add((partition, producerId, result));
                return;
            }

            ApplyMarkerLocked(partition, producerId, result);
        }
    }

    /// <summary>Whether a transaction holds an offset for the group's partition that is neither committed nor aborted yet.</summary>
    public bool HasPendingTransactionalOffset(string groupId, string topic, int partition)
    {
        lock (_lock)
        {
            return HasPendingLocked(groupId, topic, partition);
        }
    }

    private bool HasPendingLocked(string groupId, string topic, int partition)
    {
        if (_pendingTxnOffsets.Count == 0)
        {
            return false;
        }

        var offsetsPartition = PartitionFor(groupId);
        foreach (var ((p, _), pending) in _pendingTxnOffsets)
        {
            if (p == offsetsPartition && pending.Contains(groupId, topic, partition))
            {
                return true;
            }
        }

        return false;
    }

    private bool HasPendingForGroupLocked(string groupId)
    {
        foreach (var pending in _pendingTxnOffsets.Values)
        {
            if (pending.Groups.ContainsKey(groupId))
            {
                return true;
            }
        }

        return false;
    }

    private PendingTransactionOffsets PendingFor(int partition, long producerId)
    {
        if (!_pendingTxnOffsets.TryGetValue((partition, producerId), out var pending))
        {
            pending = new PendingTransactionOffsets();
            _pendingTxnOffsets[(partition, producerId)] = pending;
        }

        return pending;
    }

    private void ApplyMarkerLocked(int partition, long producerId, TransactionResult result)
    {
        if (!_pendingTxnOffsets.Remove((partition, producerId), out var pending) || result != TransactionResult.Commit)
        {
            return;
        }

        foreach (var (groupId, offsets) in pending.Groups)
        {
            if (!_groups.TryGetValue(groupId, out var group))
            {
                // As a plain OffsetCommit from outside any generation, a committed transaction's
                // offsets create a simple, empty group when there is none (any more).
                group = new ClassicGroup(groupId, partition) { CurrentStateTimestamp = NowMs };
                _groups[groupId] = group;
            }
            else if (group is ClassicGroup { State: ClassicGroupState.Dead })
            {
                continue;
            }

            foreach (var (tp, value) in offsets)
            {
                group.Offsets[tp] = value;
            }
        }
    }

    private void ApplyMarkersAfterLoadLocked(int partition)
    {
        foreach (var (p, producerId, result) in _markersWhileLoading.Where(m => m.Partition == partition).ToList())
        {
            ApplyMarkerLocked(p, producerId, result);
        }

        _markersWhileLoading.RemoveAll(m => m.Partition == partition);
    }

    private void DropPendingLocked(int partition)
    {
        foreach (var key in _pendingTxnOffsets.Keys.Where(k => k.Partition == partition).ToList())
        {
            _pendingTxnOffsets.Remove(key);
        }

        _markersWhileLoading.RemoveAll(m => m.Partition == partition);
    }

    private Task AppendTransactional(int partition, long producerId, short producerEpoch, List<CoordinatorRecord> records)
    {
        try
        {
            var task = _log.AppendTransactionalAsync(partition, producerId, producerEpoch, records).AsTask();
            if (task.IsFaulted)
            {
                GroupLog.AppendFailed(_logger, task.Exception!, partition);
            }

            return task;
        }
        catch (Exception e)
        {
            GroupLog.AppendFailed(_logger, e, partition);
            return Task.FromException(e);
        }
    }

    /// <summary>One producer's offsets not yet committed nor aborted, by group (Kafka's pendingTransactionalOffsets).</summary>
    private sealed class PendingTransactionOffsets
    {
        public Dictionary<string, Dictionary<(string Topic, int Partition), OffsetCommitValue>> Groups { get; } = new(StringComparer.Ordinal);

        public void Add(string groupId, (string Topic, int Partition) tp, OffsetCommitValue value)
        {
            if (!Groups.TryGetValue(groupId, out var offsets))
            {
                offsets = [];
                Groups[groupId] = offsets;
            }

            offsets[tp] = value;
        }

        public void Remove(string groupId, (string Topic, int Partition) tp)
        {
            if (Groups.TryGetValue(groupId, out var offsets))
            {
                offsets.Remove(tp);
            }
        }

        public bool Contains(string groupId, string topic, int partition) =>
            Groups.TryGetValue(groupId, out var offsets) && offsets.ContainsKey((topic, partition));
    }
}
