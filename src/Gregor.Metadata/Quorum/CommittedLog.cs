namespace Gregor.Metadata.Quorum;

/// <summary>The committed entries a quorum member holds in memory, ordered by offset; thread-safe.</summary>
internal sealed class CommittedLog
{
    private readonly List<CommittedEntry> _entries = new();
    private readonly Lock _lock = new();

    public long HighWatermark { get; private set; }

    /// <summary>The offset below which entries were deleted behind a snapshot (0 while nothing was).</summary>
    public long StartOffset { get; private set; }

    public void Add(CommittedEntry entry)
    {
        lock (_lock)
        {
            if (entry.Offset < HighWatermark)
            {
                // A Raft state machine may see an entry again after a restart replays the log.
                return;
            }

            _entries.Add(entry);
            HighWatermark = entry.Offset + 1;
        }
    }

    /// <summary>Moves the high watermark over offsets that carry no metadata (Raft configuration or no-op entries).</summary>
    public void Skip(long offset)
    {
        lock (_lock)
        {
            if (offset >= HighWatermark)
            {
                HighWatermark = offset + 1;
            }
        }
    }

    /// <summary>Forgets entries below <paramref name="offset"/>; returns those kept.</summary>
    public List<CommittedEntry> DeleteBefore(long offset)
    {
        lock (_lock)
        {
            _entries.RemoveAll(e => e.Offset < offset);
            StartOffset = Math.Max(StartOffset, offset);
            return [.. _entries];
        }
    }

    /// <summary>A consistent copy for a Raft snapshot: where the log starts, its high watermark and every entry kept.</summary>
    public (long StartOffset, long HighWatermark, List<CommittedEntry> Entries) Snapshot()
    {
        lock (_lock)
        {
            return (StartOffset, HighWatermark, [.. _entries]);
        }
    }

    /// <summary>Replaces the content with a Raft snapshot's (at start-up, before the WAL replays what follows it).</summary>
    public void Restore(long startOffset, long highWatermark, List<CommittedEntry> entries)
    {
        lock (_lock)
        {
            _entries.Clear();
            _entries.AddRange(entries);
            StartOffset = startOffset;
            HighWatermark = highWatermark;
        }
    }

    public IReadOnlyList<CommittedEntry> Read(long fromOffset, int maxEntries)
    {
        lock (_lock)
        {
            var lo = 0;
            var hi = _entries.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_entries[mid].Offset < fromOffset)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            var count = Math.Min(maxEntries, _entries.Count - lo);
            return count <= 0 ? [] : _entries.GetRange(lo, count);
        }
    }
}
