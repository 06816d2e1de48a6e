using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.Storage.Checkpoints;
using Gregor.Storage.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Storage;

/// <summary>
/// One partition's log (Kafka's UnifiedLog and LocalLog): segments in <c>&lt;log.dir&gt;/&lt;topic&gt;-&lt;partition&gt;/</c>.
/// Appends and structural changes (roll, truncate, delete) are serialized by one lock; reads take
/// a snapshot of the segment list and never block appends or see a half-written batch.
/// </summary>
public sealed partial class Log : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile LogSegment[] _segments = [];
    private volatile LogConfig _config;
    private long _logStartOffset;
    private long _logEndOffset;
    private long _highWatermark;
    private long _recoveryPoint;
    private long _unflushedMessages;
    private long _lastFlushTime;
    private long _rollJitterMs;
    private Uuid _topicId;
    private bool _closed;
    private string? _offlineReason;

    private Log(string dir, TopicPartition topicPartition, LogConfig config, TimeProvider time, ILogger logger)
    {
        Dir = dir;
        TopicPartition = topicPartition;
        _config = config;
        _time = time;
        _logger = logger;
        LeaderEpochCache = new LeaderEpochFileCache(dir);
        _lastFlushTime = NowMs;
    }

    /// <summary>The partition directory.</summary>
    public string Dir { get; private set; }

    public TopicPartition TopicPartition { get; }

    public LeaderEpochFileCache LeaderEpochCache { get; }

    public LogConfig Config
    {
        get => _config;
        set => _config = value ?? throw new ArgumentNullException(nameof(value));
    }

    public Uuid TopicId => _topicId;

    public long LogStartOffset => Volatile.Read(ref _logStartOffset);

    public long LogEndOffset => Volatile.Read(ref _logEndOffset);

    /// <summary>Offsets below it are flushed to disk; recovery after a crash starts here.</summary>
    public long RecoveryPoint => Volatile.Read(ref _recoveryPoint);

    /// <summary>Consumers read below it. Set by the replica manager (LEO after an append on a single
    /// node); clamped to [log start offset, log end offset] as Kafka does.</summary>
    public long HighWatermark
    {
        get => Volatile.Read(ref _highWatermark);
        set
        {
            lock (_lock)
            {
                Volatile.Write(ref _highWatermark, Math.Clamp(value, LogStartOffset, LogEndOffset));
            }
        }
    }

    /// <summary>Bytes on disk across all segments.</summary>
    public long Size => _segments.Sum(s => s.Size);

    public int SegmentCount => _segments.Length;

    /// <summary>Base offsets of the segments, oldest first.</summary>
    public IReadOnlyList<long> SegmentBaseOffsets => _segments.Select(s => s.BaseOffset).ToArray();

    public long LastFlushTime => Volatile.Read(ref _lastFlushTime);

    public long UnflushedMessages => Volatile.Read(ref _unflushedMessages);

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private LogSegment ActiveSegment => _segments[^1];

    /// <summary>Writes <c>partition.metadata</c> with the topic id (once the controller assigned it).</summary>
    public void AssignTopicId(Uuid topicId)
    {
        lock (_lock)
        {
            if (_topicId == topicId)
            {
                return;
            }

            PartitionMetadataFile.Write(Dir, topicId);
            _topicId = topicId;
        }
    }

    /// <summary>
    /// Validates and appends a produce request's records for this partition. As a leader
    /// (<paramref name="assignOffsets"/>) it writes each batch's base offset and partition leader
    /// epoch in place; as a follower it keeps the batch's offsets and requires them above the log
    /// end. If any batch is invalid nothing is appended. The bytes are patched in place, so the
    /// caller must not reuse <paramref name="records"/> for anything else.
    /// </summary>
    public LogAppendInfo Append(Memory<byte> records, int leaderEpoch, bool assignOffsets = true) =>
        Append(records, leaderEpoch, assignOffsets ? AppendOrigin.Client : AppendOrigin.Replication);

    /// <summary>
    /// <see cref="Append(Memory{byte}, int, bool)"/> with Kafka's append origin: a
    /// <see cref="AppendOrigin.Coordinator"/> (group/transaction coordinator, control markers)
    /// gets offsets assigned but skips the client-only checks (control batches are allowed).
    /// </summary>
    public LogAppendInfo Append(Memory<byte> records, int leaderEpoch, AppendOrigin origin)
    {
        var assignOffsets = origin != AppendOrigin.Replication;
        var data = records.Span;
        var config = _config;
        ThrowIfOffline();

        // Pass 1: shape and validity of every batch before anything is touched.
        var position = 0;
        var batchCount = 0;
        var recordCount = 0;
        var maxTimestamp = -1L;
        var needsRebuild = false;
        var validationTime = NowMs;
        while (Batches.TryReadNext(data, ref position, out var start, out var size))
        {
            var batch = data.Slice(start, size);
            if (size > config.MaxMessageBytes)
            {
                return LogAppendInfo.Failed(ErrorCode.MessageTooLarge,
                    $"The record batch of {size} bytes exceeds max.message.bytes {config.MaxMessageBytes}.", LogStartOffset);
            }

            // Client appends get Kafka's LogValidator: the produce checks and a walk over every
            // record. A follower's batches come from the leader's log and the coordinator's from
            // the broker itself, so they only need to be intact.
            if (origin == AppendOrigin.Client)
            {
                var error = Batches.ValidateClientBatch(batch, out var facts, out var message);
                if (error == ErrorCode.None && config.Compact && facts.HasRecordWithoutKey)
                {
                    (error, message) = (ErrorCode.InvalidRecord, "Compacted topic cannot accept message without key.");
                }

                if (error == ErrorCode.None && TimestampError(batch, facts, config, validationTime) is { } timestampError)
                {
                    (error, message) = (ErrorCode.InvalidTimestamp, timestampError);
                }

                if (error != ErrorCode.None)
                {
                    return LogAppendInfo.Failed(error, message, LogStartOffset);
                }

                // The stored max timestamp is the records' (Kafka's setMaxTimestamp): the time index,
                // retention and ListOffsets by time rely on it, and clients such as sarama 1.22 leave
                // it at -1. Only a wrong header is rewritten (with its CRC); LogAppendTime topics
                // stamp the batch under the lock below.
                if (!config.MessageTimestampLogAppendTime)
                {
                    Batches.UpdateMaxTimestamp(batch, TimestampType.CreateTime, facts.MaxTimestamp);
                }

                needsRebuild |= !facts.OffsetDeltasConsecutive;
            }
            else if (!Batches.IsIntact(batch))
            {
                return LogAppendInfo.Failed(ErrorCode.CorruptMessage, "Record batch is corrupt (length, magic or CRC).", LogStartOffset);
            }

            batchCount++;
            recordCount += Batches.RecordCount(batch);
            maxTimestamp = Math.Max(maxTimestamp, Batches.MaxTimestamp(batch));
        }

        if (position != data.Length)
        {
            // A trailing partial batch in a produce request is a client bug or corruption; Kafka
            // rejects the whole partition's records.
            return LogAppendInfo.Failed(ErrorCode.CorruptMessage,
                $"Records end with {data.Length - position} bytes that are not a whole record batch.", LogStartOffset);
        }

        if (batchCount == 0)
        {
            return new LogAppendInfo(ErrorCode.None, null, -1, -1, -1, -1, LogStartOffset, 0, 0);
        }

        if (origin == AppendOrigin.Client)
        {
            var target = Recompression.Target(config.CompressionType);
            if (needsRebuild || target is { } codec && Recompression.Needed(data, codec))
            {
                // Another codec for the topic, or offset deltas that are not 0..n-1 (Kafka rebuilds
                // such batches rather than store records at offsets it did not assign).
                data = Recompression.Recompress(data, target);
                var tooLarge = FirstBatchLargerThan(data, config.MaxMessageBytes);
                if (tooLarge > 0)
                {
                    return LogAppendInfo.Failed(ErrorCode.MessageTooLarge,
                        $"The record batch of {tooLarge} bytes after recompression exceeds max.message.bytes {config.MaxMessageBytes}.", LogStartOffset);
                }
            }
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            ThrowIfOffline();
            var now = NowMs;
            var logEndOffset = LogEndOffset;
            long firstOffset;
            long lastOffset;
            var logAppendTime = -1L;

            if (origin == AppendOrigin.Client)
            {
                position = 0;
                while (Batches.TryReadNext(data, ref position, out var start, out var size))
                {
                    var producerError = _producerState.Check(data.Slice(start, size), out var duplicate, out var producerMessage);
                    if (producerError != ErrorCode.None)
                    {
                        return LogAppendInfo.Failed(producerError, producerMessage, LogStartOffset);
                    }

                    if (duplicate is { } original)
                    {
                        // A retry of one of the producer's last five batches: Kafka writes nothing and
                        // answers with the offsets the batch got the first time.
                        return new LogAppendInfo(ErrorCode.None, null, original.FirstOffset, original.LastOffset, -1,
                            original.Timestamp, LogStartOffset, 0, 0);
                    }
                }
            }

            if (assignOffsets)
            {
                firstOffset = logEndOffset;
                var next = logEndOffset;
                position = 0;
                while (Batches.TryReadNext(data, ref position, out var start, out var size))
                {
                    var batch = data.Slice(start, size);
                    Batches.SetBaseOffset(batch, next);
                    Batches.SetPartitionLeaderEpoch(batch, leaderEpoch);
                    if (config.MessageTimestampLogAppendTime)
                    {
                        Batches.SetLogAppendTime(batch, now);
                    }

                    next += Batches.LastOffsetDelta(batch) + 1;
                }

                lastOffset = next - 1;
                if (config.MessageTimestampLogAppendTime)
                {
                    logAppendTime = now;
                    maxTimestamp = now;
                }
            }
            else
            {
                position = 0;
                var expected = logEndOffset;
                firstOffset = -1;
                lastOffset = -1;
                while (Batches.TryReadNext(data, ref position, out var start, out var size))
                {
                    var batch = data.Slice(start, size);
                    var baseOffset = Batches.BaseOffset(batch);
                    if (baseOffset < expected)
                    {
                        return LogAppendInfo.Failed(ErrorCode.UnknownServerError,
                            $"Out of order offsets: batch base offset {baseOffset} is below the expected {expected}.", LogStartOffset);
                    }

                    if (firstOffset < 0)
                    {
                        firstOffset = baseOffset;
                    }

                    lastOffset = Batches.LastOffset(batch);
                    expected = lastOffset + 1;
                }
            }

            MaybeRoll(data.Length, maxTimestamp, lastOffset, now, firstOffset);
            WriteLocked(data, logEndOffset);
            Volatile.Write(ref _logEndOffset, lastOffset + 1);

            // The batches are in the log now. What follows only mirrors them (producer state, the
            // transaction index, fsync); if that fails the log goes offline, and recovery on the next
            // start rebuilds it all from the segments.
            try
            {
                position = 0;
                while (Batches.TryReadNext(data, ref position, out var start, out var size))
                {
                    if (_producerState.Update(data.Slice(start, size)) is { } completed)
                    {
                        OnTransactionCompleted(completed, persist: true);
                    }
                }

                var unflushed = Interlocked.Add(ref _unflushedMessages, recordCount);
                if (unflushed >= config.FlushMessages)
                {
                    FlushLocked();
                }
            }
            catch (Exception e)
            {
                throw TakeOfflineLocked($"Appending to {TopicPartition} at offset {firstOffset} failed after the batches were written", e);
            }

            return new LogAppendInfo(ErrorCode.None, null, firstOffset, lastOffset, logAppendTime, maxTimestamp,
                LogStartOffset, recordCount, data.Length);
        }
    }

    /// <summary>
    /// Test seam: runs after an append's bytes reach the segment file and its indexes, before they
    /// count in the log end offset: the point where a failure must leave nothing behind.
    /// </summary>
    internal Action<LogSegment>? AfterSegmentWrite { get; set; }

    /// <summary>True once the log could not be brought back to a consistent state; every append
    /// and read then fails with KAFKA_STORAGE_ERROR until the broker restarts (Kafka takes the log
    /// directory offline in the same situation).</summary>
    public bool IsOffline => _offlineReason is not null;

    /// <summary>
    /// Writes offset-assigned batches to the active segment all-or-nothing: on any failure the
    /// segment and its indexes are cut back to <paramref name="logEndOffset"/> and the epochs this
    /// append started are forgotten, so no byte ever sits past the log end offset. If even that
    /// fails, the log goes offline.
    /// </summary>
    private void WriteLocked(ReadOnlySpan<byte> data, long logEndOffset)
    {
        var segment = ActiveSegment;
        var mark = segment.Mark();
        var firstAssignedEpochOffset = -1L;
        try
        {
            // Leader epoch cache: a new epoch starts at the first batch written in it (KIP-101).
            var position = 0;
            while (Batches.TryReadNext(data, ref position, out var start, out var size))
            {
                var batch = data.Slice(start, size);
                var epoch = Batches.PartitionLeaderEpoch(batch);
                if (epoch >= 0 && epoch > LeaderEpochCache.LatestEpoch)
                {
                    if (firstAssignedEpochOffset < 0)
                    {
                        firstAssignedEpochOffset = Batches.BaseOffset(batch);
                    }

                    LeaderEpochCache.Assign(epoch, Batches.BaseOffset(batch));
                }
            }

            segment.Append(data, AfterSegmentWrite);
        }
        catch (Exception e)
        {
            try
            {
                segment.RollBackTo(mark);
                if (firstAssignedEpochOffset >= 0)
                {
                    LeaderEpochCache.TruncateFromEnd(firstAssignedEpochOffset);
                }
            }
            catch (Exception rollbackError)
            {
                throw TakeOfflineLocked($"Appending to {TopicPartition} at offset {logEndOffset} failed ({e.Message}) and could not be undone",
                    rollbackError);
            }

            StorageLog.AppendRolledBack(_logger, e, TopicPartition, logEndOffset);
            throw new KafkaStorageException($"Appending to {TopicPartition} at offset {logEndOffset} failed; nothing was appended: {e.Message}", e);
        }
    }

    private KafkaStorageException TakeOfflineLocked(string reason, Exception cause)
    {
        _offlineReason ??= $"{reason}: {cause.Message}";
        StorageLog.LogOffline(_logger, cause, TopicPartition, reason);
        return new KafkaStorageException($"{reason}; the log is offline until the broker restarts: {cause.Message}", cause, logOffline: true);
    }

    private void ThrowIfOffline()
    {
        if (_offlineReason is { } reason)
        {
            throw new KafkaStorageException($"The log of {TopicPartition} is offline: {reason}", logOffline: true);
        }
    }

    private static int FirstBatchLargerThan(ReadOnlySpan<byte> data, int limit)
    {
        var position = 0;
        while (Batches.TryReadNext(data, ref position, out _, out var size))
        {
            if (size > limit)
            {
                return size;
            }
        }

        return 0;
    }

    /// <summary>
    /// Kafka's LogValidator.validateTimestamp over a client batch's records: with CreateTime, every
    /// record timestamp other than -1 within message.timestamp.before/after.max.ms of the broker's
    /// clock (KIP-937); a producer may not claim LogAppendTime where that rule does not decide.
    /// </summary>
    private static string? TimestampError(ReadOnlySpan<byte> batch, RecordBatchFacts facts, LogConfig config, long now)
    {
        if (!config.MessageTimestampLogAppendTime)
        {
            var before = config.GetLong(LogConfig.MessageTimestampBeforeMaxMsConfig);
            var after = config.GetLong(LogConfig.MessageTimestampAfterMaxMsConfig);
            if (facts.MinTimestamp != long.MaxValue && (Int128)now - facts.MinTimestamp > before)
            {
                return $"Timestamp {facts.MinTimestamp} of a record is more than message.timestamp.before.max.ms={before} behind the broker's time {now}.";
            }

            if (facts.MaxTimestamp != RecordBatch.NoTimestamp && (Int128)facts.MaxTimestamp - now > after)
            {
                return $"Timestamp {facts.MaxTimestamp} of a record is more than message.timestamp.after.max.ms={after} ahead of the broker's time {now}.";
            }
        }

        if ((config.MessageTimestampLogAppendTime || facts.HasRecordWithoutTimestamp) && Batches.IsLogAppendTime(batch))
        {
            return "Invalid timestamp type in the record batch. Producer should not set timestamp type to LogAppendTime.";
        }

        return null;
    }

    private void MaybeRoll(int messagesSize, long maxTimestampInMessages, long maxOffsetInMessages, long now, long firstOffset)
    {
        var active = ActiveSegment;
        if (active.ShouldRoll(_config, messagesSize, maxTimestampInMessages, maxOffsetInMessages, now, _rollJitterMs))
        {
            RollLocked(firstOffset);
        }
    }

    /// <summary>Starts a new active segment at the log end offset (no-op when the active segment is empty).</summary>
    public void Roll()
    {
        lock (_lock)
        {
            RollLocked(LogEndOffset);
        }
    }

    private void RollLocked(long newBaseOffset)
    {
        var active = ActiveSegment;
        if (active.Size == 0 && active.BaseOffset == newBaseOffset)
        {
            return;
        }

        if (active.Size == 0)
        {
            // An empty active segment at a stale base offset (after a follower jump) is replaced.
            active.DeleteFiles();
            _segments = _segments[..^1];
        }
        else
        {
            active.OnBecomeInactiveSegment();
        }

        var segment = LogSegment.Open(Dir, newBaseOffset, _config, NowMs, active: true);
        _segments = [.. _segments, segment];
        _rollJitterMs = ComputeJitter(_config);
        // Kafka snapshots the producer state at every new segment, so recovery replays at most one segment.
        TakeProducerSnapshotLocked();
        StorageLog.Rolled(_logger, TopicPartition, newBaseOffset);
    }

    private static long ComputeJitter(LogConfig config) =>
        config.SegmentJitterMs <= 0 ? 0 : Random.Shared.NextInt64(Math.Min(config.SegmentJitterMs, config.SegmentMs));

    /// <summary>Flushes everything appended so far and moves the recovery point to the log end offset.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    private void FlushLocked()
    {
        if (_closed)
        {
            return;
        }

        var recoveryPoint = RecoveryPoint;
        var end = LogEndOffset;
        var segments = _segments;
        for (var i = 0; i < segments.Length; i++)
        {
            var next = i + 1 < segments.Length ? segments[i + 1].BaseOffset : long.MaxValue;
            if (next > recoveryPoint)
            {
                segments[i].Flush();
            }
        }

        Volatile.Write(ref _recoveryPoint, end);
        Volatile.Write(ref _unflushedMessages, 0);
        Volatile.Write(ref _lastFlushTime, NowMs);
    }

    /// <summary>Flushes when flush.ms has passed since the last flush (called by the log manager's scheduler).</summary>
    public void FlushIfDue()
    {
        var config = _config;
        if (config.FlushMs == long.MaxValue || UnflushedMessages == 0 && RecoveryPoint == LogEndOffset)
        {
            return;
        }

        if (NowMs - LastFlushTime >= config.FlushMs)
        {
            Flush();
        }
    }

    /// <summary>Closes the files (index files trimmed, final time index entry written) without flushing.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            try
            {
                TakeProducerSnapshotLocked();
            }
            catch (IOException e)
            {
                StorageLog.BackgroundJobFailed(_logger, e);
            }

            _closed = true;
            foreach (var segment in _segments)
            {
                segment.Close();
            }

            DeletePendingFiles(force: true);
        }
    }

    /// <summary>Closes and removes the partition directory.</summary>
    public void Delete()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var segment in _segments)
            {
                segment.Dispose();
            }

            DeletePendingFiles(force: true);
            _segments = [];
            if (Directory.Exists(Dir))
            {
                Directory.Delete(Dir, recursive: true);
            }
        }
    }

    /// <summary>Moves the directory (the log manager renames to <c>-delete</c> before removing it).</summary>
    internal void RenameDir(string newDir)
    {
        lock (_lock)
        {
            Directory.Move(Dir, newDir);
            Dir = newDir;
            _producerState.Dir = newDir;
        }
    }

    public void Dispose() => Close();

    public override string ToString() => $"Log({TopicPartition}, logStartOffset={LogStartOffset}, logEndOffset={LogEndOffset})";
}
