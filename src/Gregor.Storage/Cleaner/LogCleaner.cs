using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Gregor.Protocol.Records;
using Gregor.Storage.Checkpoints;
using Gregor.Storage.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Storage.Cleaner;

/// <summary>What one cleaning pass did.</summary>
public sealed record CleanerStats(
    TopicPartition TopicPartition,
    long FirstOffset,
    long EndOffset,
    long BytesRead,
    long BytesWritten,
    long RecordsRead,
    long RecordsKept,
    TimeSpan Elapsed);

/// <summary>
/// Kafka's log cleaner for <c>cleanup.policy=compact</c> (and <c>compact,delete</c>): keeps the
/// latest record per key in the cleanable part of the log (whole closed segments below the high
/// watermark and older than <c>min.compaction.lag.ms</c>). A log is cleaned when its dirty ratio
/// (bytes written since the last pass over all cleanable bytes) reaches
/// <c>min.cleanable.dirty.ratio</c>, or when its oldest dirty segment is older than
/// <c>max.compaction.lag.ms</c>. Offsets are kept (never renumbered); data of aborted
/// transactions is removed and never shadows committed data; control batches (transaction
/// markers) are kept; the pass stops before a transaction that is still open;
/// a tombstone is kept while its batch's timestamp is within <c>delete.retention.ms</c> of now,
/// so a consumer that reads the whole log within that time sees every deletion. Records without
/// a key are dropped, as Kafka does. Output replaces its input through Kafka's
/// <c>.cleaned</c> → <c>.swap</c> → rename sequence, which recovery finishes after a crash.
/// </summary>
public sealed class LogCleaner : IDisposable
{
    public const string CheckpointFileName = "cleaner-offset-checkpoint";

    private readonly Func<IEnumerable<Log>> _logs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<TopicPartition, long> _firstDirty = new();
    private readonly Lock _passLock = new();
    private ITimer? _timer;
    private bool _disposed;

    public LogCleaner(Func<IEnumerable<Log>> logs, IReadOnlyList<string> logDirs, TimeProvider time, ILogger? logger = null)
    {
        _logs = logs;
        LogDirs = logDirs;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        foreach (var dir in logDirs)
        {
            try
            {
                foreach (var (tp, offset) in new OffsetCheckpointFile(Path.Combine(dir, CheckpointFileName)).Read())
                {
                    _firstDirty[tp] = offset;
                }
            }
            catch (InvalidDataException)
            {
                // An unreadable checkpoint only means the next pass starts from the log start.
            }
        }
    }

    public IReadOnlyList<string> LogDirs { get; }

    /// <summary>Called at <see cref="CleanerHookPoints"/>; a test throws there to simulate a crash.</summary>
    public Action<string>? TestHook { get; set; }

    /// <summary>Every pass done so far (for tests and the bench).</summary>
    public ConcurrentQueue<CleanerStats> History { get; } = new();

    /// <summary>Runs <see cref="CleanAll"/> every <paramref name="backoffMs"/> (<c>log.cleaner.backoff.ms</c>).</summary>
    public void Start(long backoffMs)
    {
        var period = TimeSpan.FromMilliseconds(Math.Max(1, backoffMs));
        _timer = _time.CreateTimer(_ => OnTimer(), null, period, period);
    }

    /// <summary>The offset below which the log has been cleaned (the log start when never).</summary>
    public long FirstDirtyOffset(Log log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var start = log.LogStartOffset;
        return _firstDirty.TryGetValue(log.TopicPartition, out var offset) && offset >= start && offset <= log.LogEndOffset ? offset : start;
    }

    /// <summary>Drops what the cleaner knows of a deleted partition (a re-created one starts dirty).</summary>
    public void Forget(TopicPartition topicPartition) => _firstDirty.TryRemove(topicPartition, out _);

    /// <summary>Cleans every compacted log that needs it, dirtiest first. Returns the passes done.</summary>
    public IReadOnlyList<CleanerStats> CleanAll()
    {
        lock (_passLock)
        {
            var done = new List<CleanerStats>();
            if (_disposed)
            {
                return done;
            }

            var candidates = _logs()
                .Where(l => l.Config.Compact && !l.IsClosed)
                .Select(l => (Log: l, Ratio: DirtyRatio(l, out var must), Must: must))
                .Where(c => c.Must || c.Ratio >= c.Log.Config.GetDouble("min.cleanable.dirty.ratio") && c.Ratio > 0)
                .OrderByDescending(c => c.Must)
                .ThenByDescending(c => c.Ratio)
                .ToList();
            foreach (var (log, _, _) in candidates)
            {
                if (_disposed)
                {
                    break;
                }

                try
                {
                    if (CleanCore(log, force: false) is { } stats)
                    {
                        done.Add(stats);
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidRecordException or UnauthorizedAccessException)
                {
                    StorageLog.CleaningFailed(_logger, e, log.TopicPartition);
                }
            }

            return done;
        }
    }

    /// <summary>One pass over <paramref name="log"/>; <paramref name="force"/> ignores the dirty
    /// ratio and compaction lags' "not yet" (not the min lag). Null when there was nothing to clean.
    /// Exceptions (and a throwing <see cref="TestHook"/>) propagate.</summary>
    public CleanerStats? Clean(Log log, bool force = false)
    {
        lock (_passLock)
        {
            return CleanCore(log, force);
        }
    }

    private void OnTimer()
    {
        try
        {
            CleanAll();
        }
        catch (Exception e)
        {
            // A timer callback that throws would take the broker down.
            StorageLog.BackgroundJobFailed(_logger, e);
        }
    }

    /// <summary>The part of the log a pass may rewrite: segment indexes [0, end) and the first dirty one.</summary>
    private (int FirstDirtyIndex, int End, long CleanBytes, long DirtyBytes) CleanableRange(Log log, LogSegment[] segments, long firstDirty)
    {
        var config = log.Config;
        var now = log.CurrentTimeMs;
        var minLag = config.GetLong("min.compaction.lag.ms");
        var upper = Math.Min(segments[^1].BaseOffset, log.HighWatermark);
        var end = 0;
        var firstDirtyIndex = -1;
        long clean = 0;
        long dirty = 0;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            var segmentEnd = segments[i + 1].BaseOffset;
            if (segmentEnd > upper)
            {
                break;
            }

            var isDirty = segmentEnd > firstDirty;
            if (isDirty && minLag > 0 && segments[i].MaxTimestampSoFar > now - minLag)
            {
                break;
            }

            if (isDirty)
            {
                firstDirtyIndex = firstDirtyIndex < 0 ? i : firstDirtyIndex;
                dirty += segments[i].Size;
            }
            else
            {
                clean += segments[i].Size;
            }

            end = i + 1;
        }

        return (firstDirtyIndex, end, clean, dirty);
    }

    private double DirtyRatio(Log log, out bool mustClean)
    {
        mustClean = false;
        var segments = log.Segments;
        if (segments.Length < 2)
        {
            return 0;
        }

        var (firstDirtyIndex, _, clean, dirty) = CleanableRange(log, segments, FirstDirtyOffset(log));
        if (firstDirtyIndex < 0 || dirty == 0)
        {
            return 0;
        }

        // max.compaction.lag.ms: a dirty segment whose first record is older than the lag is cleaned
        // whatever the ratio (KIP-354).
        var maxLag = log.Config.GetLong("max.compaction.lag.ms");
        var firstTimestamp = segments[firstDirtyIndex].RollingBasedTimestamp;
        mustClean = maxLag != long.MaxValue && firstTimestamp >= 0 && log.CurrentTimeMs - firstTimestamp > maxLag;
        return (double)dirty / (clean + dirty);
    }

    private CleanerStats? CleanCore(Log log, bool force)
    {
        var stopwatch = Stopwatch.StartNew();
        var config = log.Config;
        if (!config.Compact)
        {
            return null;
        }

        var segments = log.Segments;
        if (segments.Length < 2)
        {
            return null;
        }

        var firstDirty = FirstDirtyOffset(log);
        var (firstDirtyIndex, end, clean, dirty) = CleanableRange(log, segments, firstDirty);
        if (end == 0 || firstDirtyIndex < 0 && !force)
        {
            return null;
        }

        if (firstDirtyIndex < 0)
        {
            // Forced over a clean log: nothing new to map, but expired tombstones still go.
            firstDirtyIndex = end;
        }

        if (!force)
        {
            var ratio = DirtyRatio(log, out var must);
            if (!must && (ratio <= 0 || ratio < config.GetDouble("min.cleanable.dirty.ratio")))
            {
                return null;
            }
        }

        // Transactions: aborted data is dropped and never enters the offset map (it must not
        // shadow a committed value); the pass stops before the first transaction still open,
        // as Kafka's cleaner stops at the last stable offset.
        var (aborted, firstUnstable) = ScanTransactions(segments, end);
        while (end > 0 && segments[end].BaseOffset > firstUnstable)
        {
            end--;
        }

        if (end == 0)
        {
            return null;
        }

        if (firstDirtyIndex >= end && !force)
        {
            return null;
        }

        firstDirtyIndex = Math.Min(firstDirtyIndex, end);
        var now = log.CurrentTimeMs;
        var deleteHorizon = now - config.GetLong("delete.retention.ms");
        var endOffset = segments[end].BaseOffset;

        // Pass 1: the latest offset of every key in the dirty part.
        var map = new Dictionary<byte[], long>(ByteArrayComparer.Instance);
        long bytesRead = 0;
        for (var i = firstDirtyIndex; i < end; i++)
        {
            ForEachBatch(segments[i], batch =>
            {
                if (Batches.IsControl(batch) || Batches.LastOffset(batch) < firstDirty || aborted.Contains(Batches.BaseOffset(batch)))
                {
                    return;
                }

                using var reader = new RecordReader(batch);
                while (reader.TryReadNext(out var record))
                {
                    if (record.HasKey)
                    {
                        map[record.Key.ToArray()] = record.Offset(reader.BaseOffset);
                    }
                }
            });
        }

        // Pass 2: rewrite [0, end) in groups of at most segment.bytes, each swapped in atomically.
        long bytesWritten = 0;
        long recordsRead = 0;
        long recordsKept = 0;
        var hook = TestHook;
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        foreach (var group in GroupBySize(segments, end, config.SegmentBytes))
        {
            var cleaned = log.CreateCleanedSegment(group[0].BaseOffset);
            var swapped = false;
            try
            {
                foreach (var segment in group)
                {
                    bytesRead += segment.Size;
                    ForEachBatch(segment, batch =>
                    {
                        output.ResetWrittenCount();
                        var (read, kept) = aborted.Contains(Batches.BaseOffset(batch)) && !Batches.IsControl(batch)
                            ? (Batches.RecordCount(batch), 0)
                            : FilterBatch(batch, map, deleteHorizon, output);
                        recordsRead += read;
                        recordsKept += kept;
                        if (output.WrittenCount > 0)
                        {
                            cleaned.Append(output.WrittenSpan);
                        }
                    });
                }

                cleaned.OnBecomeInactiveSegment();
                cleaned.Flush();
                bytesWritten += cleaned.Size;
                hook?.Invoke(CleanerHookPoints.CleanedWritten);
                cleaned.ReplaceFileSuffix(LogSegment.CleanedFileSuffix, LogSegment.SwapFileSuffix);
                hook?.Invoke(CleanerHookPoints.SwapWritten);
                swapped = log.ReplaceSegments(group, cleaned, hook);
                if (!swapped)
                {
                    StorageLog.SwapAbandoned(_logger, log.TopicPartition);
                    return null;
                }
            }
            finally
            {
                if (!swapped && hook is null)
                {
                    cleaned.DeleteFiles();
                }
            }
        }

        _firstDirty[log.TopicPartition] = endOffset;
        WriteCheckpoint(log);
        var stats = new CleanerStats(log.TopicPartition, segments[0].BaseOffset, endOffset, bytesRead, bytesWritten, recordsRead, recordsKept, stopwatch.Elapsed);
        History.Enqueue(stats);
        StorageLog.Cleaned(_logger, log.TopicPartition, stats.FirstOffset, endOffset, bytesRead, bytesWritten, recordsRead, recordsKept, (long)stopwatch.Elapsed.TotalMilliseconds);
        return stats;
    }

    /// <summary>
    /// Writes what to keep of one batch into <paramref name="output"/>: the batch's own bytes when
    /// every record stays, nothing when none does, else a rebuilt batch with the same base offset,
    /// last offset, producer fields, attributes and compression (Kafka keeps the last offset so
    /// producer state survives compaction).
    /// </summary>
    private static (int Read, int Kept) FilterBatch(ReadOnlySpan<byte> batch, Dictionary<byte[], long> map, long deleteHorizon, ArrayBufferWriter<byte> output)
    {
        var count = Batches.RecordCount(batch);
        if (Batches.IsControl(batch))
        {
            // Control batches (transaction markers) are kept as written.
            output.Write(batch);
            return (count, count);
        }

        var tombstonesExpired = Batches.MaxTimestamp(batch) < deleteHorizon;
        var keep = new bool[count];
        var kept = 0;
        var index = 0;
        using (var reader = new RecordReader(batch))
        {
            while (reader.TryReadNext(out var record))
            {
                var offset = record.Offset(reader.BaseOffset);
                var retain = record.HasKey
                    && !(map.TryGetValue(record.Key.ToArray(), out var latest) && offset < latest)
                    && !(!record.HasValue && tombstonesExpired);
                keep[index++] = retain;
                kept += retain ? 1 : 0;
            }
        }

        if (kept == count)
        {
            output.Write(batch);
            return (count, kept);
        }

        if (kept == 0)
        {
            return (count, 0);
        }

        var builder = new RecordBatchBuilder
        {
            BaseOffset = Batches.BaseOffset(batch),
            PartitionLeaderEpoch = Batches.PartitionLeaderEpoch(batch),
            ProducerId = RecordBatch.ProducerId(batch),
            ProducerEpoch = RecordBatch.ProducerEpoch(batch),
            BaseSequence = RecordBatch.BaseSequence(batch),
            IsTransactional = RecordBatch.IsTransactional(batch),
            TimestampType = RecordBatch.TimestampType(batch),
            LogAppendTime = Batches.IsLogAppendTime(batch) ? Batches.MaxTimestamp(batch) : null,
            CompressionType = RecordBatch.CompressionType(batch),
        };
        index = 0;
        using (var reader = new RecordReader(batch))
        {
            while (reader.TryReadNext(out var record))
            {
                if (!keep[index++])
                {
                    continue;
                }

                List<RecordHeaderData>? headers = null;
                if (record.HeaderCount > 0)
                {
                    headers = new List<RecordHeaderData>(record.HeaderCount);
                    foreach (var header in record.Headers)
                    {
                        headers.Add(new RecordHeaderData(header.Key, header.HasValue ? header.Value.ToArray() : null));
                    }
                }

                builder.AppendWithOffsetDelta(record.OffsetDelta, record.Timestamp(reader.BaseTimestamp),
                    record.HasKey ? record.Key.ToArray() : null, record.HasValue ? record.Value.ToArray() : null, headers);
            }
        }

        var start = output.WrittenCount;
        builder.Build(output);
        var rebuilt = MemoryMarshal.AsMemory(output.WrittenMemory).Span[start..];
        BinaryPrimitives.WriteInt32BigEndian(rebuilt[RecordBatch.LastOffsetDeltaOffset..], Batches.LastOffsetDelta(batch));
        RecordBatch.SetMaxTimestamp(rebuilt, Math.Max(RecordBatch.MaxTimestamp(rebuilt), Batches.MaxTimestamp(batch)));
        RecordBatch.RewriteCrc(rebuilt);
        return (count, kept);
    }

    /// <summary>
    /// The base offsets of transactional data batches whose transaction ended in an ABORT marker,
    /// and the first offset of a transaction with no marker yet (long.MaxValue when none), over
    /// segments [0, end).
    /// </summary>
    private static (HashSet<long> Aborted, long FirstUnstable) ScanTransactions(LogSegment[] segments, int end)
    {
        var aborted = new HashSet<long>();
        var open = new Dictionary<long, List<long>>();
        Span<byte> header = stackalloc byte[Batches.HeaderSize];
        for (var i = 0; i < end; i++)
        {
            var segment = segments[i];
            var limit = segment.Size;
            long position = 0;
            while (segment.PeekBatch(position, limit) is { } info)
            {
                // Headers only: the attributes say transactional/control; only markers are read whole.
                var at = position;
                position += info.Size;
                if (segment.ReadAt(header, at) < header.Length || !RecordBatch.IsTransactional(header))
                {
                    continue;
                }

                var producerId = RecordBatch.ProducerId(header);
                if (!Batches.IsControl(header))
                {
                    if (!open.TryGetValue(producerId, out var batches))
                    {
                        open[producerId] = batches = [];
                    }

                    batches.Add(info.BaseOffset);
                    continue;
                }

                var batch = new byte[info.Size];
                if (segment.ReadAt(batch, at) < batch.Length)
                {
                    continue;
                }

                using var reader = new RecordReader(batch);
                if (reader.TryReadNext(out var marker) && ControlRecord.TryReadType(marker.Key, out var type)
                    && open.Remove(producerId, out var ended) && type == ControlRecordType.Abort)
                {
                    aborted.UnionWith(ended);
                }
            }
        }

        var firstUnstable = open.Count == 0 ? long.MaxValue : open.Values.Min(b => b[0]);
        return (aborted, firstUnstable);
    }

    private static IEnumerable<List<LogSegment>> GroupBySize(LogSegment[] segments, int end, int maxSize)
    {
        var group = new List<LogSegment>();
        long size = 0;
        for (var i = 0; i < end; i++)
        {
            var segment = segments[i];
            // The group's offsets must stay relative-int32 addressable from its base (index entries).
            if (group.Count > 0 && (size + segment.Size > maxSize || segments[i + 1].BaseOffset - 1 - group[0].BaseOffset > int.MaxValue))
            {
                yield return group;
                group = [];
                size = 0;
            }

            group.Add(segment);
            size += segment.Size;
        }

        if (group.Count > 0)
        {
            yield return group;
        }
    }

    private delegate void BatchAction(Span<byte> batch);

    private static void ForEachBatch(LogSegment segment, BatchAction action)
    {
        var limit = segment.Size;
        long position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (segment.PeekBatch(position, limit) is { } header)
            {
                if (header.Size > buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(header.Size);
                }

                var batch = buffer.AsSpan(0, header.Size);
                var read = 0;
                while (read < batch.Length)
                {
                    var n = segment.ReadAt(batch[read..], position + read);
                    if (n <= 0)
                    {
                        throw new IOException($"Unexpected end of {segment.LogPath} at {position + read}.");
                    }

                    read += n;
                }

                action(batch);
                position += header.Size;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void WriteCheckpoint(Log log)
    {
        var dir = Path.GetDirectoryName(log.Dir)!;
        var entries = _logs()
            .Where(l => Path.GetDirectoryName(l.Dir) == dir && _firstDirty.ContainsKey(l.TopicPartition))
            .Select(l => KeyValuePair.Create(l.TopicPartition, _firstDirty[l.TopicPartition]))
            .ToList();
        new OffsetCheckpointFile(Path.Combine(dir, CheckpointFileName)).Write(entries);
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_passLock)
        {
            _disposed = true;
        }
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
