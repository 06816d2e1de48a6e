using System.Buffers;
using Gregor.Protocol;
using Gregor.Storage.Internal;

namespace Gregor.Storage;

public sealed partial class Log
{
    /// <summary>ListOffsets' special timestamps.</summary>
    public const long LatestTimestamp = -1;
    public const long EarliestTimestamp = -2;
    public const long MaxTimestampQuery = -3;
    public const long EarliestLocalTimestamp = -4;
    public const long LatestTieredTimestamp = -5;

    /// <summary>
    /// Copies whole batches starting with the one containing <paramref name="startOffset"/> (Kafka
    /// returns that whole batch; clients skip the records below the offset they asked for), up to
    /// <paramref name="maxBytes"/>, only batches whose last offset is below
    /// <paramref name="maxOffsetExclusive"/> (the high watermark for consumers), continuing into
    /// later segments while room remains. With <paramref name="minOneBatch"/> the first batch is
    /// returned even if larger than <paramref name="maxBytes"/>, so a consumer can always progress.
    /// </summary>
    public LogReadInfo Read(long startOffset, int maxBytes, long maxOffsetExclusive, bool minOneBatch)
    {
        ThrowIfOffline();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ReadCore(startOffset, maxBytes, maxOffsetExclusive, minOneBatch);
            }
            catch (ObjectDisposedException) when (attempt < 3 && !_closed)
            {
                // A segment was deleted (retention, DeleteRecords) under this read; retry on the new list.
            }
        }
    }

    private LogReadInfo ReadCore(long startOffset, int maxBytes, long maxOffsetExclusive, bool minOneBatch)
    {
        var segments = _segments;
        var logStartOffset = LogStartOffset;
        var logEndOffset = LogEndOffset;
        var highWatermark = HighWatermark;
        if (startOffset < logStartOffset || startOffset > logEndOffset)
        {
            return new LogReadInfo(ErrorCode.OffsetOutOfRange, null, 0, -1, highWatermark, logStartOffset, logEndOffset);
        }


        if (startOffset == logEndOffset || startOffset >= maxOffsetExclusive || (maxBytes <= 0 && !minOneBatch) || segments.Length == 0)
        {
            return new LogReadInfo(ErrorCode.None, null, 0, -1, highWatermark, logStartOffset, logEndOffset);
        }

        var index = FloorSegmentIndex(segments, startOffset);
        BatchHeaderInfo? first = null;
        for (; index < segments.Length; index++)
        {
            var segment = segments[index];
            first = segment.Translate(startOffset, segment.Size);
            if (first is not null)
            {
                break;
            }
        }

        if (first is not { } firstBatch || firstBatch.LastOffset >= maxOffsetExclusive)
        {
            return new LogReadInfo(ErrorCode.None, null, 0, -1, highWatermark, logStartOffset, logEndOffset);
        }

        if (firstBatch.Size > maxBytes)
        {
            if (!minOneBatch)
            {
                return new LogReadInfo(ErrorCode.None, null, 0, -1, highWatermark, logStartOffset, logEndOffset);
            }

            var single = ArrayPool<byte>.Shared.Rent(firstBatch.Size);
            var n = ReadFully(segments[index], single.AsSpan(0, firstBatch.Size), firstBatch.Position);
            return n == firstBatch.Size
                ? new LogReadInfo(ErrorCode.None, single, n, firstBatch.BaseOffset, highWatermark, logStartOffset, logEndOffset)
                : ReturnEmpty(single, new LogReadInfo(ErrorCode.None, null, 0, -1, highWatermark, logStartOffset, logEndOffset));
        }

        // Room needed is bounded by what the segments hold, so a 50 MB maxBytes against a small
        // log does not rent 50 MB.
        long available = 0;
        for (var i = index; i < segments.Length && available < maxBytes; i++)
        {
            available += segments[i].Size - (i == index ? firstBatch.Position : 0);
        }

        var capacity = (int)Math.Min(maxBytes, Math.Max(available, firstBatch.Size));
        var buffer = ArrayPool<byte>.Shared.Rent(capacity);
        var filled = 0;
        long position = firstBatch.Position;
        var done = false;
        for (var i = index; i < segments.Length && !done; i++, position = 0)
        {
            var segment = segments[i];
            var limit = segment.Size;
            var room = capacity - filled;
            var chunk = (int)Math.Min(room, limit - position);
            if (chunk <= 0)
            {
                if (room <= 0)
                {
                    break;
                }

                continue;
            }

            var read = ReadFully(segment, buffer.AsSpan(filled, chunk), position);
            var span = buffer.AsSpan(filled, read);
            var walk = 0;
            var whole = 0;
            while (Batches.TryReadNext(span, ref walk, out var start, out var size))
            {
                if (Batches.LastOffset(span[start..]) >= maxOffsetExclusive)
                {
                    done = true;
                    break;
                }

                whole = walk;
            }

            filled += whole;
            if (whole < read || position + read < limit)
            {
                // Out of room (or a bound): never return a partial batch.
                done = true;
            }
        }

        if (filled == 0)
        {
            return ReturnEmpty(buffer, new LogReadInfo(ErrorCode.None, null, 0, -1, highWatermark, logStartOffset, logEndOffset));
        }

        return new LogReadInfo(ErrorCode.None, buffer, filled, firstBatch.BaseOffset, highWatermark, logStartOffset, logEndOffset);
    }

    private static LogReadInfo ReturnEmpty(byte[] buffer, LogReadInfo empty)
    {
        ArrayPool<byte>.Shared.Return(buffer);
        return empty;
    }

    private static int ReadFully(LogSegment segment, Span<byte> destination, long position)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var n = segment.ReadAt(destination[total..], position + total);
            if (n <= 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private static int FloorSegmentIndex(LogSegment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1, found = 0;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (segments[mid].BaseOffset <= offset)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    /// <summary>
    /// ListOffsets: -2 earliest and -4 earliest-local (the log start offset), -1 latest and -5
    /// latest-tiered (the log end offset; no tiered storage here), -3 the record with the largest
    /// timestamp (KIP-734), otherwise the first record whose timestamp is ≥ <paramref name="timestamp"/>,
    /// found through the time index. <see cref="TimestampAndOffset.NotFound"/> when none.
    /// </summary>
    public TimestampAndOffset FetchOffsetByTimestamp(long timestamp)
    {
        var logStartOffset = LogStartOffset;
        switch (timestamp)
        {
            case EarliestTimestamp or EarliestLocalTimestamp:
                return new TimestampAndOffset(-1, logStartOffset, LeaderEpochCache.EpochForOffset(logStartOffset));
            case LatestTimestamp or LatestTieredTimestamp:
                var latest = LeaderEpochCache.LatestEpoch;
                return new TimestampAndOffset(-1, LogEndOffset, latest < 0 ? null : latest);
            case MaxTimestampQuery:
                return FindMaxTimestamp(logStartOffset);
            case < 0:
                return TimestampAndOffset.NotFound;
        }

        var segments = _segments;
        foreach (var segment in segments)
        {
            if (segment.MaxTimestampSoFar < timestamp)
            {
                continue;
            }

            var fromIndex = segment.TimeIndex.Lookup(timestamp);
            var position = segment.OffsetIndex.Lookup(Math.Max(fromIndex.Offset, logStartOffset)).Position;
            var limit = segment.Size;
            while (segment.PeekBatch(position, limit) is { } batch)
            {
                if (batch.MaxTimestamp >= timestamp && batch.LastOffset >= logStartOffset)
                {
                    var found = FindInBatch(segment, batch, record => record.Timestamp >= timestamp && record.Offset >= logStartOffset);
                    if (found is not null)
                    {
                        return found.Value;
                    }
                }

                position += batch.Size;
            }
        }

        return TimestampAndOffset.NotFound;
    }

    private TimestampAndOffset FindMaxTimestamp(long logStartOffset)
    {
        var segments = _segments;
        LogSegment? best = null;
        foreach (var segment in segments)
        {
            if (segment.MaxTimestampSoFar >= 0 && (best is null || segment.MaxTimestampSoFar > best.MaxTimestampSoFar))
            {
                best = segment;
            }
        }

        if (best is null)
        {
            return TimestampAndOffset.NotFound;
        }

        var max = best.MaxTimestampSoFar;
        var position = best.OffsetIndex.Lookup(best.OffsetOfMaxTimestampSoFar).Position;
        var limit = best.Size;
        while (best.PeekBatch(position, limit) is { } batch)
        {
            if (batch.MaxTimestamp == max)
            {
                var found = FindInBatch(best, batch, record => record.Timestamp == max && record.Offset >= logStartOffset);
                if (found is not null)
                {
                    return found.Value;
                }
            }

            position += batch.Size;
        }

        return TimestampAndOffset.NotFound;
    }

    private static TimestampAndOffset? FindInBatch(LogSegment segment, BatchHeaderInfo batch, Func<(long Timestamp, long Offset), bool> predicate)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(batch.Size);
        try
        {
            var span = buffer.AsSpan(0, batch.Size);
            if (ReadFully(segment, span, batch.Position) != batch.Size)
            {
                return null;
            }

            int? epoch = batch.PartitionLeaderEpoch >= 0 ? batch.PartitionLeaderEpoch : null;
            return BatchRecordTimestamps.FindFirst(span, predicate) is { } found
                ? new TimestampAndOffset(found.Timestamp, found.Offset, epoch)
                : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
