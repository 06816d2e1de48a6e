using System.Buffers.Binary;

namespace Gregor.Storage.Index;

/// <summary>A batch's position in the segment file: the index maps a batch's last offset to where it starts.</summary>
public readonly record struct OffsetPosition(long Offset, int Position);

/// <summary>
/// Kafka's <c>.index</c>: 8-byte entries, int32 offset relative to the segment's base offset and
/// int32 file position of a batch, added every <c>index.interval.bytes</c> of log.
/// </summary>
internal sealed class OffsetIndex : IndexFile
{
    public const int Size = 8;

    private int[] _relativeOffsets = new int[16];
    private int[] _positions = new int[16];
    private int _entries;

    public OffsetIndex(string path, long baseOffset, int maxIndexSize, bool active)
        : base(path, baseOffset, maxIndexSize)
    {
        Open(active);
    }

    public override int EntrySize => Size;

    public override int Entries => Volatile.Read(ref _entries);

    public OffsetPosition? LastEntry
    {
        get
        {
            lock (Sync)
            {
                return _entries == 0 ? null : new OffsetPosition(BaseOffset + _relativeOffsets[_entries - 1], _positions[_entries - 1]);
            }
        }
    }

    public OffsetPosition EntryAt(int i)
    {
        lock (Sync)
        {
            return new OffsetPosition(BaseOffset + _relativeOffsets[i], _positions[i]);
        }
    }

    /// <summary>The largest entry whose offset is ≤ <paramref name="targetOffset"/>, or (base offset, 0).</summary>
    public OffsetPosition Lookup(long targetOffset)
    {
        lock (Sync)
        {
            var relative = targetOffset - BaseOffset;
            int lo = 0, hi = _entries - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_relativeOffsets[mid] <= relative)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return found < 0 ? new OffsetPosition(BaseOffset, 0) : new OffsetPosition(BaseOffset + _relativeOffsets[found], _positions[found]);
        }
    }

    public void Append(long offset, int position)
    {
        lock (Sync)
        {
            var relative = RelativeOffset(offset);
            if (_entries > 0 && relative <= _relativeOffsets[_entries - 1])
            {
                throw new InvalidOperationException($"Offset index entry {offset} is not larger than the last entry in {FilePath}.");
            }

            if (_entries >= MaxEntries)
            {
                throw new InvalidOperationException($"Offset index {FilePath} is full.");
            }

            Span<byte> entry = stackalloc byte[Size];
            BinaryPrimitives.WriteInt32BigEndian(entry, relative);
            BinaryPrimitives.WriteInt32BigEndian(entry[4..], position);
            WriteEntry(entry, _entries);
            Grow();
            _relativeOffsets[_entries] = relative;
            _positions[_entries] = position;
            Volatile.Write(ref _entries, _entries + 1);
        }
    }

    /// <summary>Removes entries at or above <paramref name="offset"/> (log truncation).</summary>
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
        _relativeOffsets = new int[Math.Max(16, count)];
        _positions = new int[Math.Max(16, count)];
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            var rel = BinaryPrimitives.ReadInt32BigEndian(bytes[(i * Size)..]);
            var pos = BinaryPrimitives.ReadInt32BigEndian(bytes[(i * Size + 4)..]);
            if (rel == 0 && pos == 0)
            {
                // Preallocated zeros after the last entry; a real entry never points at position 0
                // because the first entry is written only after index.interval.bytes of log.
                break;
            }

            if (rel < 0 || pos < 0 || n > 0 && (rel <= _relativeOffsets[n - 1] || pos <= _positions[n - 1]))
            {
                return false;
            }

            _relativeOffsets[n] = rel;
            _positions[n] = pos;
            n++;
        }

        _entries = n;
        return true;
    }

    protected override void ClearEntries() => _entries = 0;

    private void Grow()
    {
        if (_entries == _relativeOffsets.Length)
        {
            Array.Resize(ref _relativeOffsets, _entries * 2);
            Array.Resize(ref _positions, _entries * 2);
        }
    }
}
