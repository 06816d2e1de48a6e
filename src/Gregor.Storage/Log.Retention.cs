using Gregor.Protocol;

namespace Gregor.Storage;

public sealed partial class Log
{
    private readonly List<(LogSegment Segment, long DueMs)> _pendingDeletes = [];

    /// <summary>
    /// DeleteRecords: moves the log start offset to <paramref name="offset"/> and deletes the
    /// segments wholly below it. OFFSET_OUT_OF_RANGE above the high watermark, as Kafka.
    /// </summary>
    public ErrorCode DeleteRecordsBefore(long offset)
    {
        lock (_lock)
        {
            if (offset > HighWatermark)
            {
                return ErrorCode.OffsetOutOfRange;
            }

            if (offset <= LogStartOffset)
            {
                return ErrorCode.None;
            }

            Volatile.Write(ref _logStartOffset, offset);
            LeaderEpochCache.TruncateFromStart(offset);
            var segments = _segments;
            var deletable = 0;
            while (deletable < segments.Length - 1 && segments[deletable + 1].BaseOffset <= offset)
            {
                deletable++;
            }

            StorageLog.LogStartOffsetMoved(_logger, TopicPartition, offset, deletable);
            RemoveSegments(deletable);
            return ErrorCode.None;
        }
    }

    /// <summary>
    /// Retention: deletes the oldest inactive segments that are past retention.ms (by their largest
    /// timestamp) or beyond retention.bytes, never above the high watermark. Returns how many went.
    /// </summary>
    public int DeleteOldSegments()
    {
        lock (_lock)
        {
            var config = _config;
            if (!config.Delete || _closed)
            {
                return 0;
            }

            var now = NowMs;
            var segments = _segments;
            var highWatermark = HighWatermark;
            var excessBytes = config.RetentionBytes < 0 ? 0 : Size - config.RetentionBytes;
            var count = 0;
            while (count < segments.Length - 1 && segments[count + 1].BaseOffset <= highWatermark)
            {
                var segment = segments[count];
                var byTime = config.RetentionMs >= 0 && segment.MaxTimestampSoFar >= 0 && now - segment.MaxTimestampSoFar > config.RetentionMs;
                var bySize = excessBytes - segment.Size >= 0;
                if (!byTime && !bySize)
                {
                    break;
                }

                excessBytes -= segment.Size;
                count++;
            }

            if (count > 0)
            {
                // As Kafka: the segments leave the list first, then the start offset moves, so
                // whoever sees the new start also sees the segments that begin there.
                var newStart = Math.Max(LogStartOffset, segments[count].BaseOffset);
                RemoveSegments(count);
                Volatile.Write(ref _logStartOffset, newStart);
                LeaderEpochCache.TruncateFromStart(newStart);
                StorageLog.LogStartOffsetMoved(_logger, TopicPartition, newStart, count);
            }

            DeletePendingFiles(force: false);
            return count;
        }
    }

    /// <summary>
    /// Follower truncation: removes everything at and after <paramref name="offset"/> (the whole
    /// batch containing it goes), moving the log end offset back.
    /// </summary>
    public void Truncate(long offset)
    {
        lock (_lock)
        {
            if (offset >= LogEndOffset)
            {
                return;
            }

            var segments = _segments.ToList();
            if (offset <= segments[0].BaseOffset || offset < LogStartOffset)
            {
                foreach (var s in segments)
                {
                    s.DeleteFiles();
                }

                segments.Clear();
                segments.Add(LogSegment.Open(Dir, offset, _config, NowMs, active: true));
                Volatile.Write(ref _logStartOffset, offset);
            }
            else
            {
                while (segments[^1].BaseOffset >= offset)
                {
                    segments[^1].DeleteFiles();
                    segments.RemoveAt(segments.Count - 1);
                }

                var active = segments[^1];
                active.TruncateTo(offset);
                active.OffsetIndex.Preallocate();
                active.TimeIndex.Preallocate();
            }

            _segments = [.. segments];
            var end = segments[^1].ReadNextOffset() ?? segments[^1].BaseOffset;
            Volatile.Write(ref _logEndOffset, end);
            Volatile.Write(ref _recoveryPoint, Math.Min(RecoveryPoint, end));
            Volatile.Write(ref _highWatermark, Math.Min(HighWatermark, end));
            LeaderEpochCache.TruncateFromEnd(end);
            LoadProducerState();
            StorageLog.Truncated(_logger, TopicPartition, end);
        }
    }

    // Deleted segments are renamed to ".deleted" and their files removed after file.delete.delay.ms,
    // so a read that already holds the old segment list finishes (Kafka's asynchronous delete).
    private void RemoveSegments(int count)
    {
        if (count == 0)
        {
            return;
        }

        var segments = _segments;
        _segments = segments[count..];
        var due = NowMs + _config.FileDeleteDelayMs;
        for (var i = 0; i < count; i++)
        {
            try
            {
                segments[i].ChangeFileSuffixes(LogSegment.DeletedFileSuffix);
            }
            catch (IOException)
            {
            }

            _pendingDeletes.Add((segments[i], due));
        }
    }

    /// <summary>Removes files of deleted segments whose delay has passed (all of them when forced).</summary>
    private void DeletePendingFiles(bool force)
    {
        var now = NowMs;
        for (var i = _pendingDeletes.Count - 1; i >= 0; i--)
        {
            var (segment, due) = _pendingDeletes[i];
            if (force || due <= now)
            {
                try
                {
                    segment.DeleteFiles();
                }
                catch (IOException)
                {
                }

                _pendingDeletes.RemoveAt(i);
            }
        }
    }

    /// <summary>Periodic housekeeping for the log manager: retention and delayed file deletion.</summary>
    public void RunMaintenance()
    {
        DeleteOldSegments();
        lock (_lock)
        {
            DeletePendingFiles(force: false);
        }
    }
}
