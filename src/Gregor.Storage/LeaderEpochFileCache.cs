using Gregor.Storage.Checkpoints;

namespace Gregor.Storage;

/// <summary>
/// Maps each leader epoch to the first offset written in it (Kafka's LeaderEpochFileCache), the
/// basis of OffsetForLeaderEpoch and follower truncation (KIP-101). Persisted to
/// <c>leader-epoch-checkpoint</c> on every change.
/// </summary>
public sealed class LeaderEpochFileCache
{
    public const int UndefinedEpoch = -1;
    public const long UndefinedEpochOffset = -1;

    private readonly Lock _lock = new();
    private readonly List<EpochEntry> _epochs;
    private readonly LeaderEpochCheckpointFile _checkpoint;

    public LeaderEpochFileCache(string partitionDir)
    {
        _checkpoint = new LeaderEpochCheckpointFile(Path.Combine(partitionDir, LeaderEpochCheckpointFile.FileName));
        _epochs = _checkpoint.Read();
    }

    public IReadOnlyList<EpochEntry> Epochs
    {
        get
        {
            lock (_lock)
            {
                return _epochs.ToArray();
            }
        }
    }

    public int LatestEpoch
    {
        get
        {
            lock (_lock)
            {
                return _epochs.Count == 0 ? UndefinedEpoch : _epochs[^1].Epoch;
            }
        }
    }

    /// <summary>Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/>;
    /// drops entries it contradicts (a higher epoch or a later start), as Kafka does.</summary>
    public void Assign(int epoch, long startOffset)
    {
        if (epoch < 0 || startOffset < 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_epochs.Count > 0 && _epochs[^1].Epoch == epoch && _epochs[^1].StartOffset <= startOffset)
            {
                return;
            }

            _epochs.RemoveAll(e => e.Epoch >= epoch || e.StartOffset >= startOffset);
            _epochs.Add(new EpochEntry(epoch, startOffset));
            Flush();
        }
    }

    /// <summary>OffsetForLeaderEpoch: (epoch, end offset) for the largest epoch ≤ requested, the end
    /// being the next epoch's start offset or the log end offset for the latest epoch.</summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requestedEpoch, long logEndOffset)
    {
        lock (_lock)
        {
            if (requestedEpoch == UndefinedEpoch || _epochs.Count == 0)
            {
                return (UndefinedEpoch, UndefinedEpochOffset);
            }

            if (_epochs[^1].Epoch == requestedEpoch)
            {
                return (requestedEpoch, logEndOffset);
            }

            var higher = _epochs.FindIndex(e => e.Epoch > requestedEpoch);
            if (higher < 0)
            {
                return (UndefinedEpoch, UndefinedEpochOffset);
            }

            return higher == 0
                ? (requestedEpoch, _epochs[0].StartOffset)
                : (_epochs[higher - 1].Epoch, _epochs[higher].StartOffset);
        }
    }

    /// <summary>The epoch of the batch at <paramref name="offset"/>, or null when unknown.</summary>
    public int? EpochForOffset(long offset)
    {
        lock (_lock)
        {
            for (var i = _epochs.Count - 1; i >= 0; i--)
            {
                if (_epochs[i].StartOffset <= offset)
                {
                    return _epochs[i].Epoch;
                }
            }

            return null;
        }
    }

    /// <summary>After the log is truncated to <paramref name="endOffset"/>: forget epochs starting at or after it.</summary>
    public void TruncateFromEnd(long endOffset)
    {
        lock (_lock)
        {
            if (_epochs.RemoveAll(e => e.StartOffset >= endOffset) > 0)
            {
                Flush();
            }
        }
    }

    /// <summary>After the log start moves to <paramref name="startOffset"/>: entries wholly below it go,
    /// the one spanning it is moved up to start there.</summary>
    public void TruncateFromStart(long startOffset)
    {
        lock (_lock)
        {
            var lastBelow = _epochs.FindLastIndex(e => e.StartOffset < startOffset);
            if (lastBelow < 0)
            {
                return;
            }

            var spanning = _epochs[lastBelow];
            _epochs.RemoveRange(0, lastBelow + 1);
            if (_epochs.Count == 0 || _epochs[0].StartOffset > startOffset)
            {
                _epochs.Insert(0, new EpochEntry(spanning.Epoch, startOffset));
            }

            Flush();
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _epochs.Clear();
            Flush();
        }
    }

    private void Flush()
    {
        if (Directory.Exists(Path.GetDirectoryName(_checkpoint.Path)))
        {
            _checkpoint.Write(_epochs);
        }
    }
}
