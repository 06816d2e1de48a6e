using System.Buffers.Binary;

namespace Gregor.Storage.Index;

/// <summary>A timestamp and the offset of the batch that reached it.</summary>
public readonly record struct TimestampOffset(long Timestamp, long Offset);

/// <summary>
/// Kafka's <c>.timeindex</c>: 12-byte entries, int64 timestamp and int32 relative offset, appended
/// only when the segment's max timestamp grows, so timestamps and offsets are both increasing.
/// </summary>
internal sealed class TimeIndex : IndexFile
{
    public const int Size = 12;
    public const long NoTimestamp = -1;

    private long[] _timestamps = new long[16];
    private int[] _relativeOffsets = new int[16];
    private int _entries;

    public TimeIndex(string path, long baseOffset, int maxIndexSize, bool active)
        : base(path, baseOffset, maxIndexSize)
    {
        Open(active);
    }

    public override int EntrySize => Size;

    public override int Entries => Volatile.Read(ref _entries);

    public TimestampOffset? LastEntry
    {
        get
        {
            lock (Sync)
            {
                return _entries == 0 ? null : new TimestampOffset(_timestamps[_entries - 1], BaseOffset + _relativeOffsets[_entries - 1]);
            }
        }
    }

    public TimestampOffset EntryAt(int i)
    {
        lock (Sync)
        {
            return new TimestampOffset(_timestamps[i], BaseOffset + _relativeOffsets[i]);
        }
    }

    /// <summary>The largest entry with timestamp ≤ <paramref name="timestamp"/>, or (-1, base offset).</summary>
    public TimestampOffset Lookup(long timestamp)
    {
        lock (Sync)
        {
            int lo = 0, hi = _entries - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_timestamps[mid] <= timestamp)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return found < 0 ? new TimestampOffset(NoTimestamp, BaseOffset) : new TimestampOffset(_timestamps[found], BaseOffset + _relativeOffsets[found]);
        }
    }

    /// <summary>Appends when <paramref name="timestamp"/> is above the last entry's; <paramref name="skipFullCheck"/>
    /// lets the final entry be written when a segment becomes inactive, as Kafka does.</summary>
    public void MaybeAppend(long timestamp, long offset, bool skipFullCheck = false)
    {
        lock (Sync)
        {
            // An empty index behaves as if its last entry were (-1, base offset), as Kafka's does: a
            // segment whose batches carry no timestamp (-1) gets no entry instead of an offset of -1.
            if (timestamp <= (_entries > 0 ? _timestamps[_entries - 1] : NoTimestamp))
            {
                return;
            }

            var relative = RelativeOffset(offset);
            if (_entries > 0 && relative < _relativeOffsets[_entries - 1])
            {
                return;
            }

            if (!skipFullCheck && _entries >= MaxEntries)
            {
                throw new InvalidOperationException($"Time index {FilePath} is full.");
            }

            Span<byte> entry = stackalloc byte[Size];
            BinaryPrimitives.WriteInt64BigEndian(entry, timestamp);
            BinaryPrimitives.WriteInt32BigEndian(entry[8..], relative);
            WriteEntry(entry, _entries);
            if (_entries == _timestamps.Length)
            {
                Array.Resize(ref _timestamps, _entries * 2);
                Array.Resize(ref _relativeOffsets, _entries * 2);
            }

            _timestamps[_entries] = timestamp;
            _relativeOffsets[_entries] = relative;
            Volatile.Write(ref _entries, _entries + 1);
        }
    }

    /// <summary>Removes entries whose offset is at or above <paramref name="offset"/>.</summary>
    public void TruncateTo(long offset)
    {
        lock (Sync)
        {
            var relative = offset - BaseOffset;
            var keep = _entries;
            while (keep > 0 && _relativeOffsets[keep - 1] >= relative)
            {
                keep--;
            }

            TruncateToEntries(keep);
        }
    }

    /// <summary>Keeps the first <paramref name="entries"/> entries (undoing a failed append).</summary>
    public void TruncateToEntries(int entries)
    {
        lock (Sync)
        {
            if (entries >= _entries)
            {
                return;
            }

            // Zeros are what a preallocated index holds after its last entry, so loading stops there.
            RandomAccess.Write(Handle, new byte[(_entries - entries) * Size], (long)entries * Size);
            Volatile.Write(ref _entries, entries);
        }
    }

    protected override bool Load(ReadOnlySpan<byte> bytes)
    {
        var count = bytes.Length / Size;
        _timestamps = new long[Math.Max(16, count)];
        _relativeOffsets = new int[Math.Max(16, count)];
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            var ts = BinaryPrimitives.ReadInt64BigEndian(bytes[(i * Size)..]);
            var rel = BinaryPrimitives.ReadInt32BigEndian(bytes[(i * Size + 8)..]);
            if (n > 0 && ts == 0 && rel == 0)
            {
                break; // preallocated zeros
            }

            if (n == 0 && ts == 0 && rel == 0 && AllZero(bytes[(i * Size)..]))
            {
                break;
            }

            if (rel < 0 || n > 0 && (ts <= _timestamps[n - 1] || rel < _relativeOffsets[n - 1]))
            {
                return false;
            }

            _timestamps[n] = ts;
            _relativeOffsets[n] = rel;
            n++;
        }

        _entries = n;
        return true;
    }

    protected override void ClearEntries() => _entries = 0;

    private static bool AllZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}
