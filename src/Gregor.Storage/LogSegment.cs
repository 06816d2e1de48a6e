using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Gregor.Storage.Index;
using Gregor.Storage.Internal;
using Microsoft.Win32.SafeHandles;

namespace Gregor.Storage;

/// <summary>
/// One segment of a partition: <c>&lt;base offset&gt;.log</c> holding record batches exactly as
/// produced, with its <c>.index</c> and <c>.timeindex</c>. Appends are serialized by the owning
/// <see cref="Log"/>; reads may run concurrently and only ever see bytes below <see cref="Size"/>,
/// which is published after the write completes.
/// </summary>
internal sealed class LogSegment : IDisposable
{
    public const string LogFileSuffix = ".log";
    public const string IndexFileSuffix = ".index";
    public const string TimeIndexFileSuffix = ".timeindex";
    public const string TxnIndexFileSuffix = ".txnindex";
    public const string DeletedFileSuffix = ".deleted";
    public const string CleanedFileSuffix = ".cleaned";
    public const string SwapFileSuffix = ".swap";

    private const int HeaderPeek = 27; // through LastOffsetDelta

    private readonly int _indexIntervalBytes;
    private SafeFileHandle? _handle;
    private long _size;
    private int _bytesSinceLastIndexEntry;
    private long _maxTimestampSoFar = TimeIndex.NoTimestamp;
    private long _offsetOfMaxTimestampSoFar = -1;
    private long _rollingBasedTimestamp = TimeIndex.NoTimestamp;

    private LogSegment(string dir, long baseOffset, int indexIntervalBytes, long created)
    {
        Dir = dir;
        BaseOffset = baseOffset;
        _indexIntervalBytes = indexIntervalBytes;
        Created = created;
        LogPath = FilePath(dir, baseOffset, LogFileSuffix);
    }

    public string Dir { get; }

    public long BaseOffset { get; }

    public string LogPath { get; private set; }

    /// <summary>Creation time on the log's clock, for segment.ms when no batch has a timestamp.</summary>
    public long Created { get; }

    public long Size => Volatile.Read(ref _size);

    public OffsetIndex OffsetIndex { get; private set; } = null!;

    public TimeIndex TimeIndex { get; private set; } = null!;

    public long MaxTimestampSoFar => Volatile.Read(ref _maxTimestampSoFar);

    public long OffsetOfMaxTimestampSoFar => Volatile.Read(ref _offsetOfMaxTimestampSoFar);

    /// <summary>The first batch's max timestamp, which segment.ms counts from (as Kafka's rollingBasedTimestamp).</summary>
    public long RollingBasedTimestamp => _rollingBasedTimestamp;

    public static string FileName(long offset, string suffix) =>
        offset.ToString("D20", CultureInfo.InvariantCulture) + suffix;

    public static string FilePath(string dir, long offset, string suffix) => Path.Combine(dir, FileName(offset, suffix));

    /// <summary>Opens or creates a segment. Existing indexes are loaded; <see cref="NeedsIndexRebuild"/>
    /// reports a missing or corrupt one.</summary>
    public static LogSegment Open(string dir, long baseOffset, LogConfig config, long now, bool active) =>
        Open(dir, baseOffset, config, now, active, fileSuffix: "");

    /// <summary>Opens a segment whose files carry an extra suffix (the cleaner's <c>.cleaned</c> output).</summary>
    internal static LogSegment Open(string dir, long baseOffset, LogConfig config, long now, bool active, string fileSuffix)
    {
        var segment = new LogSegment(dir, baseOffset, config.IndexIntervalBytes, now);
        segment.LogPath += fileSuffix;
        var indexPath = FilePath(dir, baseOffset, IndexFileSuffix) + fileSuffix;
        var timeIndexPath = FilePath(dir, baseOffset, TimeIndexFileSuffix) + fileSuffix;
        var logExisted = File.Exists(segment.LogPath);
        segment.NeedsIndexRebuild = logExisted && (!File.Exists(indexPath) || !File.Exists(timeIndexPath));
        segment._handle = File.OpenHandle(segment.LogPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        segment._size = RandomAccess.GetLength(segment._handle);
        segment.OffsetIndex = new OffsetIndex(indexPath, baseOffset, config.SegmentIndexBytes, active);
        segment.TimeIndex = new TimeIndex(timeIndexPath, baseOffset, config.SegmentIndexBytes, active);
        segment.NeedsIndexRebuild |= segment.OffsetIndex.LoadedCorrupt || segment.TimeIndex.LoadedCorrupt
            || !segment.IndexesConsistent();
        if (segment.TimeIndex.LastEntry is { } last)
        {
            segment._maxTimestampSoFar = last.Timestamp;
            segment._offsetOfMaxTimestampSoFar = last.Offset;
        }

        return segment;
    }

    public bool NeedsIndexRebuild { get; private set; }

    private SafeFileHandle Handle => _handle ?? throw new ObjectDisposedException(LogPath);

    // An index entry pointing past the end of the log (the log was cut after the index was written)
    // is as corrupt as a malformed file.
    private bool IndexesConsistent() =>
        OffsetIndex.LastEntry is not { } e || e.Position < Size;

    public bool CanConvertToRelativeOffset(long offset) => offset - BaseOffset is >= 0 and <= int.MaxValue;

    /// <summary>Kafka's shouldRoll: full by size, old by segment.ms (counted from the first batch's
    /// timestamp), full indexes, or offsets that no longer fit a relative int32.</summary>
    public bool ShouldRoll(LogConfig config, int messagesSize, long maxTimestampInMessages, long maxOffsetInMessages, long now, long rollJitterMs)
    {
        var size = Size;
        if (size == 0)
        {
            return false;
        }

        var waited = _rollingBasedTimestamp >= 0 ? maxTimestampInMessages - _rollingBasedTimestamp : now - Created;
        return size > config.SegmentBytes - (long)messagesSize
            || waited > config.SegmentMs - rollJitterMs
            || OffsetIndex.IsFull
            || TimeIndex.IsFull
            || !CanConvertToRelativeOffset(maxOffsetInMessages);
    }

    /// <summary>Writes already validated, offset-assigned batches at the end of the file and
    /// indexes them. Caller holds the log's append lock. Readers see nothing of it until it is all
    /// written and indexed; on failure the caller rolls back to a <see cref="Mark"/> taken before.</summary>
    /// <param name="afterWrite">Test seam: runs once the bytes are in the file and indexed, before readers may see them.</param>
    public void Append(ReadOnlySpan<byte> records, Action<LogSegment>? afterWrite = null)
    {
        var position = Size;
        RandomAccess.Write(Handle, records, position);
        var pos = 0;
        while (Batches.TryReadNext(records, ref pos, out var start, out var size))
        {
            OnBatchAppended(records.Slice(start, size), position + start);
        }

        afterWrite?.Invoke(this);
        Volatile.Write(ref _size, position + records.Length);
    }

    /// <summary>Everything an append changes, to undo a failed one (<see cref="RollBackTo"/>).</summary>
    public AppendMark Mark() => new(Size, OffsetIndex.Entries, TimeIndex.Entries, _bytesSinceLastIndexEntry,
        _maxTimestampSoFar, _offsetOfMaxTimestampSoFar, _rollingBasedTimestamp);

    /// <summary>
    /// Undoes an append that failed part-way: the file is cut back to the marked size and both
    /// indexes to their marked entries, so no byte or entry remains past the log end offset.
    /// Throws when the file cannot be cut (the log must then go offline).
    /// </summary>
    public void RollBackTo(AppendMark mark)
    {
        OffsetIndex.TruncateToEntries(mark.OffsetIndexEntries);
        TimeIndex.TruncateToEntries(mark.TimeIndexEntries);
        RandomAccess.SetLength(Handle, mark.Size);
        Volatile.Write(ref _size, mark.Size);
        _bytesSinceLastIndexEntry = mark.BytesSinceLastIndexEntry;
        Volatile.Write(ref _maxTimestampSoFar, mark.MaxTimestampSoFar);
        Volatile.Write(ref _offsetOfMaxTimestampSoFar, mark.OffsetOfMaxTimestampSoFar);
        _rollingBasedTimestamp = mark.RollingBasedTimestamp;
    }

    private void OnBatchAppended(ReadOnlySpan<byte> batch, long filePosition)
    {
        var maxTimestamp = Batches.MaxTimestamp(batch);
        var lastOffset = Batches.LastOffset(batch);
        if (_rollingBasedTimestamp == TimeIndex.NoTimestamp && filePosition == 0)
        {
            _rollingBasedTimestamp = maxTimestamp;
        }

        if (maxTimestamp > _maxTimestampSoFar)
        {
            Volatile.Write(ref _maxTimestampSoFar, maxTimestamp);
            Volatile.Write(ref _offsetOfMaxTimestampSoFar, lastOffset);
        }

        // Entries are per batch (finer than Kafka's one per append); a request of many batches may
        // fill an index mid-append, so a full index just stops taking entries and the next append rolls.
        if (_bytesSinceLastIndexEntry > _indexIntervalBytes && !OffsetIndex.IsFull && !TimeIndex.IsFull)
        {
            OffsetIndex.Append(lastOffset, checked((int)filePosition));
            TimeIndex.MaybeAppend(_maxTimestampSoFar, _offsetOfMaxTimestampSoFar);
            _bytesSinceLastIndexEntry = 0;
        }

        _bytesSinceLastIndexEntry += batch.Length;
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="position"/> into <paramref name="destination"/>.</summary>
    public int ReadAt(Span<byte> destination, long position) => RandomAccess.Read(Handle, destination, position);

    /// <summary>Batch header facts at a file position, or null past the end or at a partial header.</summary>
    public BatchHeaderInfo? PeekBatch(long position, long limit)
    {
        if (position + Batches.LogOverhead > limit)
        {
            return null;
        }

        Span<byte> header = stackalloc byte[Batches.HeaderSize];
        var want = (int)Math.Min(Batches.HeaderSize, limit - position);
        var read = RandomAccess.Read(Handle, header[..want], position);
        if (read < HeaderPeek)
        {
            return null;
        }

        var length = Batches.BatchLength(header);
        var size = (long)length + Batches.LogOverhead;
        if (length < Batches.HeaderSize - Batches.LogOverhead || position + size > limit)
        {
            return null;
        }

        var maxTs = read >= Batches.HeaderSize ? Batches.MaxTimestamp(header) : TimeIndex.NoTimestamp;
        var epoch = Batches.PartitionLeaderEpoch(header);
        return new BatchHeaderInfo(position, (int)size, Batches.BaseOffset(header), Batches.LastOffset(header), maxTs, epoch);
    }

    /// <summary>The first batch whose last offset is ≥ <paramref name="offset"/>, starting the scan
    /// at <paramref name="startingPosition"/> (Kafka's translateOffset / searchForOffsetFromPosition).</summary>
    public BatchHeaderInfo? FindBatch(long offset, long startingPosition, long limit)
    {
        var position = startingPosition;
        while (PeekBatch(position, limit) is { } batch)
        {
            if (batch.LastOffset >= offset)
            {
                return batch;
            }

            position += batch.Size;
        }

        return null;
    }

    public BatchHeaderInfo? Translate(long offset, long limit) =>
        FindBatch(offset, OffsetIndex.Lookup(offset).Position, limit);

    /// <summary>The offset after the last batch in this segment, or null when it has none.</summary>
    public long? ReadNextOffset()
    {
        var limit = Size;
        long position = OffsetIndex.LastEntry?.Position ?? 0;
        long? next = null;
        while (PeekBatch(position, limit) is { } batch)
        {
            next = batch.LastOffset + 1;
            position += batch.Size;
        }

        return next;
    }

    /// <summary>
    /// Scans every batch from the start, rebuilding both indexes and the max timestamp, and cuts the
    /// file at the first batch that is partial, has a bad length, magic or CRC, or goes backwards.
    /// Returns the number of bytes truncated.
    /// </summary>
    public long Recover(LeaderEpochFileCache? epochCache, out long? nextOffset)
    {
        OffsetIndex.Reset();
        TimeIndex.Reset();
        _bytesSinceLastIndexEntry = 0;
        _maxTimestampSoFar = TimeIndex.NoTimestamp;
        _offsetOfMaxTimestampSoFar = -1;
        _rollingBasedTimestamp = TimeIndex.NoTimestamp;
        nextOffset = null;

        var fileSize = RandomAccess.GetLength(Handle);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        long validBytes = 0;
        long expectedMin = BaseOffset;
        Span<byte> header = stackalloc byte[Batches.HeaderSize];
        try
        {
            while (validBytes < fileSize)
            {
                var headerRead = RandomAccess.Read(Handle, header, validBytes);
                if (headerRead < Batches.HeaderSize)
                {
                    break;
                }

                var length = Batches.BatchLength(header);
                var size = (long)length + Batches.LogOverhead;
                if (length < Batches.HeaderSize - Batches.LogOverhead || validBytes + size > fileSize || size > Array.MaxLength)
                {
                    break;
                }

                if (size > buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent((int)size);
                }

                var batch = buffer.AsSpan(0, (int)size);
                if (RandomAccess.Read(Handle, batch, validBytes) < size || !Batches.IsIntact(batch)
                    || Batches.BaseOffset(batch) < expectedMin || !CanConvertToRelativeOffset(Batches.LastOffset(batch)))
                {
                    break;
                }

                OnBatchAppended(batch, validBytes);
                var epoch = Batches.PartitionLeaderEpoch(batch);
                if (epochCache is not null && epoch >= 0 && epoch > epochCache.LatestEpoch)
                {
                    epochCache.Assign(epoch, Batches.BaseOffset(batch));
                }

                expectedMin = Batches.LastOffset(batch) + 1;
                nextOffset = expectedMin;
                validBytes += size;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var truncated = fileSize - validBytes;
        if (truncated > 0)
        {
            RandomAccess.SetLength(Handle, validBytes);
        }

        Volatile.Write(ref _size, validBytes);
        NeedsIndexRebuild = false;
        return truncated;
    }

    /// <summary>Cuts the segment at the batch containing <paramref name="offset"/> (it and everything after go).
    /// Returns bytes removed.</summary>
    public long TruncateTo(long offset)
    {
        var batch = Translate(offset, Size);
        if (batch is null)
        {
            return 0;
        }

        var position = batch.Value.Position;
        var removed = Size - position;
        OffsetIndex.TruncateTo(offset);
        TimeIndex.TruncateTo(offset);
        RandomAccess.SetLength(Handle, position);
        Volatile.Write(ref _size, position);
        _bytesSinceLastIndexEntry = 0;
        if (position == 0)
        {
            _rollingBasedTimestamp = TimeIndex.NoTimestamp;
        }

        // Kafka recomputes the max timestamp from the remaining time index entries.
        var last = TimeIndex.LastEntry;
        _maxTimestampSoFar = last?.Timestamp ?? TimeIndex.NoTimestamp;
        _offsetOfMaxTimestampSoFar = last?.Offset ?? -1;
        return removed;
    }

    /// <summary>Loads the first batch's timestamp after opening an existing segment.</summary>
    public void LoadFirstBatchTimestamp()
    {
        if (_rollingBasedTimestamp == TimeIndex.NoTimestamp && PeekBatch(0, Size) is { } first)
        {
            _rollingBasedTimestamp = first.MaxTimestamp;
        }
    }

    /// <summary>Called when a newer segment becomes active: final time index entry, trimmed files.</summary>
    public void OnBecomeInactiveSegment()
    {
        if (_maxTimestampSoFar >= 0)
        {
            TimeIndex.MaybeAppend(_maxTimestampSoFar, _offsetOfMaxTimestampSoFar, skipFullCheck: true);
        }

        OffsetIndex.TrimToValidSize();
        TimeIndex.TrimToValidSize();
        RandomAccess.SetLength(Handle, Size);
    }

    public void Flush()
    {
        RandomAccess.FlushToDisk(Handle);
        OffsetIndex.Flush();
        TimeIndex.Flush();
    }

    /// <summary>Renames every file of the segment with an extra suffix (".deleted"), keeping handles open.</summary>
    public void ChangeFileSuffixes(string newSuffix)
    {
        var newLog = LogPath + newSuffix;
        File.Move(LogPath, newLog, overwrite: true);
        LogPath = newLog;
        OffsetIndex.Rename(OffsetIndex.FilePath + newSuffix);
        TimeIndex.Rename(TimeIndex.FilePath + newSuffix);
    }

    /// <summary>Renames every file from one extra suffix to another (".cleaned" → ".swap" → ""), keeping handles open.</summary>
    internal void ReplaceFileSuffix(string oldSuffix, string newSuffix)
    {
        static string Swap(string path, string from, string to) =>
            (from.Length == 0 ? path : path.EndsWith(from, StringComparison.Ordinal) ? path[..^from.Length] : path) + to;

        var newLog = Swap(LogPath, oldSuffix, newSuffix);
        File.Move(LogPath, newLog, overwrite: true);
        LogPath = newLog;
        OffsetIndex.Rename(Swap(OffsetIndex.FilePath, oldSuffix, newSuffix));
        TimeIndex.Rename(Swap(TimeIndex.FilePath, oldSuffix, newSuffix));
    }

    /// <summary>Closes like Kafka: final time index entry and index files trimmed.</summary>
    public void Close()
    {
        if (_handle is null)
        {
            return;
        }

        OnBecomeInactiveSegment();
        Dispose();
    }

    public void Dispose()
    {
        OffsetIndex?.Dispose();
        TimeIndex?.Dispose();
        _handle?.Dispose();
        _handle = null;
    }

    public void DeleteFiles()
    {
        Dispose();
        File.Delete(LogPath);
        File.Delete(OffsetIndex.FilePath);
        File.Delete(TimeIndex.FilePath);
        var txn = FilePath(Dir, BaseOffset, TxnIndexFileSuffix);
        File.Delete(txn);
        File.Delete(txn + DeletedFileSuffix);
    }

    public override string ToString() => $"LogSegment(baseOffset={BaseOffset}, size={Size})";
}

/// <summary>A segment's state before an append (<see cref="LogSegment.Mark"/>).</summary>
internal readonly record struct AppendMark(long Size, int OffsetIndexEntries, int TimeIndexEntries, int BytesSinceLastIndexEntry,
    long MaxTimestampSoFar, long OffsetOfMaxTimestampSoFar, long RollingBasedTimestamp);

/// <summary>Header facts of one batch in a segment file.</summary>
internal readonly record struct BatchHeaderInfo(long Position, int Size, long BaseOffset, long LastOffset, long MaxTimestamp, int PartitionLeaderEpoch);
