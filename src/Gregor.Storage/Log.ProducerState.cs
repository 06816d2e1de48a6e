using Gregor.Protocol.Records;
using Gregor.Storage.Internal;

namespace Gregor.Storage;

/// <summary>A producer as DescribeProducers reports it.</summary>
public readonly record struct ActiveProducer(
    long ProducerId,
    short ProducerEpoch,
    int LastSequence,
    long LastTimestamp,
    int CoordinatorEpoch,
    long CurrentTxnStartOffset);

public sealed partial class Log
{
    /// <summary>Kafka's default producer.id.expiration.ms (one day).</summary>
    public const long DefaultProducerIdExpirationMs = 86_400_000;

    private ProducerStateManager _producerState = null!;
    private long _producerIdExpirationMs = DefaultProducerIdExpirationMs;

    /// <summary>producer.id.expiration.ms: a producer idle this long (and not in a transaction) is forgotten.</summary>
    public long ProducerIdExpirationMs
    {
        get => Volatile.Read(ref _producerIdExpirationMs);
        set => Volatile.Write(ref _producerIdExpirationMs, value);
    }

    public IReadOnlyList<ActiveProducer> ActiveProducers
    {
        get
        {
            lock (_lock)
            {
                return _producerState.Producers
                    .Select(e => new ActiveProducer(e.ProducerId, e.ProducerEpoch, e.LastSequence, e.LastTimestamp, e.CoordinatorEpoch, e.CurrentTxnFirstOffset))
                    .ToList();
            }
        }
    }

    /// <summary>The retained batches of one producer (oldest first), empty when unknown.</summary>
    public IReadOnlyList<ProducerBatchMetadata> ProducerBatches(long producerId)
    {
        lock (_lock)
        {
            return _producerState.Get(producerId)?.Batches.ToList() ?? [];
        }
    }

    /// <summary>Offsets of the producer-state snapshot files in the partition directory.</summary>
    public IReadOnlyList<long> ProducerSnapshotOffsets
    {
        get
        {
            lock (_lock)
            {
                return _producerState.ListSnapshots();
            }
        }
    }

    /// <summary>Expires idle producers and drops snapshots below the log start offset (called by the log manager).</summary>
    public int RemoveExpiredProducers()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return 0;
            }

            var removed = _producerState.RemoveExpired(NowMs, ProducerIdExpirationMs);
            var snapshots = _producerState.ListSnapshots();
            // Keep the newest snapshot at or below the log start offset: recovery may start there.
            for (var i = 0; i < snapshots.Count - 1; i++)
            {
                if (snapshots[i + 1] <= LogStartOffset)
                {
                    _producerState.DeleteSnapshot(snapshots[i]);
                }
            }

            return removed;
        }
    }

    /// <summary>Writes a producer-state snapshot at the log end offset.</summary>
    public void TakeProducerSnapshot()
    {
        lock (_lock)
        {
            TakeProducerSnapshotLocked();
        }
    }

    private void TakeProducerSnapshotLocked()
    {
        if (_producerState.MapEndOffset == LogEndOffset)
        {
            _producerState.TakeSnapshot();
        }
    }

    // Start-up and truncation: the newest valid snapshot not beyond the log end, then the log after it.
    private void LoadProducerState()
    {
        _producerState ??= new ProducerStateManager(Dir);
        _producerState.Dir = Dir;
        LoadAbortedTransactions();
        var end = LogEndOffset;
        var start = LogStartOffset;
        var snapshots = _producerState.ListSnapshots();
        var from = start;
        var loaded = false;
        for (var i = snapshots.Count - 1; i >= 0; i--)
        {
            var offset = snapshots[i];
            if (offset > end)
            {
                _producerState.DeleteSnapshot(offset);
                continue;
            }

            if (!loaded && offset >= start)
            {
                if (_producerState.TryLoadSnapshot(offset, NowMs, ProducerIdExpirationMs))
                {
                    loaded = true;
                    from = offset;
                }
                else
                {
                    StorageLog.DeletedStrayFile(_logger, Path.Combine(Dir, ProducerStateManager.SnapshotFileName(offset)));
                    _producerState.DeleteSnapshot(offset);
                }
            }
        }

        if (!loaded)
        {
            _producerState.Clear(start);
        }

        var next = from;
        while (next < end)
        {
            using var info = ReadCore(next, 1 << 20, end, minOneBatch: true);
            if (info.Length == 0)
            {
                break;
            }

            var data = info.Records.Span;
            var position = 0;
            while (Batches.TryReadNext(data, ref position, out var batchStart, out var size))
            {
                var batch = data.Slice(batchStart, size);
                if (RecordBatch.LastOffset(batch) < next)
                {
                    continue;
                }

                if (_producerState.Update(batch) is { } completed)
                {
                    OnTransactionCompleted(completed, persist: false);
                }

                next = RecordBatch.LastOffset(batch) + 1;
            }
        }

        _producerState.MapEndOffset = end;
        if (from != end)
        {
            _producerState.TakeSnapshot();
        }
    }
}
