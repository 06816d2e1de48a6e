using Microsoft.Win32.SafeHandles;

namespace Gregor.Storage.Index;

/// <summary>
/// Shared mechanics of Kafka's sparse index files: fixed-size big-endian entries, the file
/// preallocated to <c>segment.index.bytes</c> (rounded down to whole entries) while the segment is
/// active and trimmed to the entries written when it becomes inactive or is closed, exactly as Kafka
/// leaves them. Entries are mirrored in memory for lookups; each append is one positional write.
/// </summary>
internal abstract class IndexFile : IDisposable
{
    private SafeFileHandle? _handle;

    protected IndexFile(string path, long baseOffset, int maxIndexSize)
    {
        FilePath = path;
        BaseOffset = baseOffset;
        MaxIndexSize = Math.Max(EntrySizeOf(this), maxIndexSize / EntrySizeOf(this) * EntrySizeOf(this));
    }

    public string FilePath { get; private set; }

    public long BaseOffset { get; }

    public int MaxIndexSize { get; private set; }

    public int MaxEntries => MaxIndexSize / EntrySize;

    public abstract int EntrySize { get; }

    public abstract int Entries { get; }

    public bool IsFull => Entries >= MaxEntries;

    /// <summary>Set when loading found a file that is not a valid index (the caller rebuilds it).</summary>
    public bool LoadedCorrupt { get; protected set; }

    protected object Sync { get; } = new();

    private static int EntrySizeOf(IndexFile index) => index.EntrySize;

    protected SafeFileHandle Handle => _handle ?? throw new ObjectDisposedException(FilePath);

    /// <summary>Opens (creating if needed) and loads the entries; <paramref name="active"/> preallocates.</summary>
    protected void Open(bool active)
    {
        var existed = File.Exists(FilePath);
        _handle = File.OpenHandle(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var length = RandomAccess.GetLength(_handle);
        if (existed && length > 0)
        {
            if (length % EntrySize != 0 || length > int.MaxValue)
            {
                LoadedCorrupt = true;
            }
            else
            {
                var bytes = new byte[length];
                RandomAccess.Read(_handle, bytes, 0);
                LoadedCorrupt = !Load(bytes);
            }

            if (LoadedCorrupt)
            {
                Reset();
            }
        }

        if (active)
        {
            Preallocate();
        }
    }

    /// <summary>Parses entries; false when they are not a valid index. A zero tail (preallocation) ends the entries.</summary>
    protected abstract bool Load(ReadOnlySpan<byte> bytes);

    protected abstract void ClearEntries();

    protected void WriteEntry(ReadOnlySpan<byte> entry, int index) =>
        RandomAccess.Write(Handle, entry, (long)index * EntrySize);

    public void Preallocate()
    {
        lock (Sync)
        {
            RandomAccess.SetLength(Handle, Math.Max((long)MaxIndexSize, (long)Entries * EntrySize));
        }
    }

    /// <summary>Cuts the file to the entries written (Kafka's trimToValidSize).</summary>
    public void TrimToValidSize()
    {
        lock (Sync)
        {
            if (_handle is not null)
            {
                RandomAccess.SetLength(_handle, (long)Entries * EntrySize);
            }
        }
    }

    public void Reset()
    {
        lock (Sync)
        {
            ClearEntries();
            RandomAccess.SetLength(Handle, 0);
        }
    }

    public void Flush()
    {
        lock (Sync)
        {
            if (_handle is not null)
            {
                RandomAccess.FlushToDisk(_handle);
            }
        }
    }

    public void Rename(string newPath)
    {
        lock (Sync)
        {
            if (File.Exists(FilePath))
            {
                File.Move(FilePath, newPath, overwrite: true);
            }

            FilePath = newPath;
        }
    }

    public void Dispose()
    {
        lock (Sync)
        {
            _handle?.Dispose();
            _handle = null;
        }
    }

    public void DeleteFile()
    {
        Dispose();
        File.Delete(FilePath);
    }

    protected int RelativeOffset(long offset)
    {
        var relative = offset - BaseOffset;
        if (relative < 0 || relative > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Offset {offset} does not fit an index with base offset {BaseOffset}.");
        }

        return (int)relative;
    }
}
