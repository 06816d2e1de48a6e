using Gregor.Storage.Checkpoints;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Storage;

public sealed partial class Log
{
    /// <summary>
    /// Opens (creating if needed) the log in <paramref name="dir"/>, named <c>&lt;topic&gt;-&lt;partition&gt;</c>.
    /// Without a clean shutdown, segments from <paramref name="recoveryPoint"/> on are scanned batch
    /// by batch: a torn tail (partial batch, bad length, magic or CRC) is truncated, later segments
    /// are dropped and the indexes rebuilt. Missing or corrupt indexes are rebuilt in any case.
    /// </summary>
    public static Log Open(
        string dir,
        LogConfig config,
        TimeProvider time,
        ILogger? logger = null,
        long recoveryPoint = 0,
        long logStartOffset = 0,
        bool hadCleanShutdown = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
        if (!TopicPartition.TryParseDirectoryName(name, out var topicPartition))
        {
            throw new ArgumentException($"'{name}' is not a <topic>-<partition> directory name.", nameof(dir));
        }

        Directory.CreateDirectory(dir);
        var log = new Log(dir, topicPartition, config, time, logger ?? NullLogger.Instance);
        log.Load(recoveryPoint, logStartOffset, hadCleanShutdown);
        return log;
    }

    private void Load(long recoveryPointCheckpoint, long logStartOffsetCheckpoint, bool hadCleanShutdown)
    {
        RemoveTempFilesAndCompleteSwaps();
        _topicId = PartitionMetadataFile.Read(Dir) ?? default;

        var now = NowMs;
        var segments = new List<LogSegment>();
        foreach (var file in Directory.EnumerateFiles(Dir, "*" + LogSegment.LogFileSuffix))
        {
            if (TryParseBaseOffset(file, LogSegment.LogFileSuffix, out var baseOffset))
            {
                segments.Add(LogSegment.Open(Dir, baseOffset, _config, now, active: false));
            }
        }

        segments.Sort((a, b) => a.BaseOffset.CompareTo(b.BaseOffset));

        // Segments after the recovery point may hold writes the OS never flushed.
        var firstToRecover = segments.Count;
        if (!hadCleanShutdown)
        {
            firstToRecover = 0;
            for (var i = 0; i < segments.Count; i++)
            {
                if (segments[i].BaseOffset <= recoveryPointCheckpoint)
                {
                    firstToRecover = i;
                }
            }

            if (segments.Count > 0)
            {
                StorageLog.Recovering(_logger, TopicPartition, recoveryPointCheckpoint, segments.Count - firstToRecover);
            }
        }

        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            if (i < firstToRecover && !segment.NeedsIndexRebuild)
            {
                continue;
            }

            var rebuild = segment.NeedsIndexRebuild;
            var truncated = segment.Recover(LeaderEpochCache, out _);
            if (rebuild)
            {
                StorageLog.RebuiltIndex(_logger, Path.GetFileName(segment.LogPath), TopicPartition);
            }

            if (truncated > 0)
            {
                StorageLog.TruncatedTornTail(_logger, Path.GetFileName(segment.LogPath), TopicPartition, truncated);
                // Anything after a torn batch was written later and cannot be trusted (as Kafka).
                for (var j = segments.Count - 1; j > i; j--)
                {
                    StorageLog.DeletingSegmentAfterCorruption(_logger, Path.GetFileName(segments[j].LogPath), TopicPartition);
                    segments[j].DeleteFiles();
                    segments.RemoveAt(j);
                }
            }
        }

        if (segments.Count == 0)
        {
            segments.Add(LogSegment.Open(Dir, Math.Max(0, logStartOffsetCheckpoint), _config, now, active: true));
        }

        for (var i = 0; i < segments.Count - 1; i++)
        {
            segments[i].OffsetIndex.TrimToValidSize();
            segments[i].TimeIndex.TrimToValidSize();
        }

        var active = segments[^1];
        active.OffsetIndex.Preallocate();
        active.TimeIndex.Preallocate();
        active.LoadFirstBatchTimestamp();
        _segments = [.. segments];

        var logEndOffset = active.ReadNextOffset() ?? active.BaseOffset;
        _logEndOffset = logEndOffset;
        _logStartOffset = Math.Min(Math.Max(logStartOffsetCheckpoint, segments[0].BaseOffset), logEndOffset);
        _recoveryPoint = hadCleanShutdown ? logEndOffset : Math.Min(recoveryPointCheckpoint, logEndOffset);
        _highWatermark = _logStartOffset;
        _rollJitterMs = ComputeJitter(_config);
        LeaderEpochCache.TruncateFromEnd(logEndOffset);
        LeaderEpochCache.TruncateFromStart(_logStartOffset);
        LoadProducerState();
        StorageLog.LogLoaded(_logger, TopicPartition, Dir, segments.Count, _logStartOffset, logEndOffset);
    }

    private void RemoveTempFilesAndCompleteSwaps()
    {
        foreach (var file in Directory.EnumerateFiles(Dir).ToList())
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(LogSegment.DeletedFileSuffix, StringComparison.Ordinal)
                || name.EndsWith(LogSegment.CleanedFileSuffix, StringComparison.Ordinal)
                || name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                // .deleted: a deletion the crash interrupted; .cleaned: an unfinished compaction
                // output; .tmp: an unfinished checkpoint write. None holds data still needed.
                File.Delete(file);
                StorageLog.DeletedStrayFile(_logger, file);
            }
        }

        // A .swap is a finished cleaner output whose swap the crash interrupted (Kafka completes
        // it): the segments it replaces are those whose base offset lies in its offset range.
        // Its indexes are dropped and rebuilt from the log.
        foreach (var file in Directory.EnumerateFiles(Dir, "*" + LogSegment.SwapFileSuffix).ToList())
        {
            var target = file[..^LogSegment.SwapFileSuffix.Length];
            if (!TryParseBaseOffset(target, LogSegment.LogFileSuffix, out var swapBase))
            {
                File.Delete(file);
                StorageLog.DeletedStrayFile(_logger, file);
                continue;
            }

            var swapEnd = Math.Max(swapBase, LastOffsetInFile(file));
            foreach (var old in Directory.EnumerateFiles(Dir, "*" + LogSegment.LogFileSuffix).ToList())
            {
                if (TryParseBaseOffset(old, LogSegment.LogFileSuffix, out var oldBase) && oldBase >= swapBase && oldBase <= swapEnd)
                {
                    File.Delete(old);
                    File.Delete(Path.ChangeExtension(old, LogSegment.IndexFileSuffix));
                    File.Delete(Path.ChangeExtension(old, LogSegment.TimeIndexFileSuffix));
                    File.Delete(Path.ChangeExtension(old, LogSegment.TxnIndexFileSuffix));
                }
            }

            File.Move(file, target, overwrite: true);
            StorageLog.CompletedSwap(_logger, TopicPartition, target);
        }

        foreach (var file in Directory.EnumerateFiles(Dir, "*" + LogSegment.SwapFileSuffix).ToList())
        {
            File.Delete(file);
        }

        // Index files without their .log are leftovers of a deletion.
        foreach (var file in Directory.EnumerateFiles(Dir).ToList())
        {
            var ext = Path.GetExtension(file);
            if ((ext == LogSegment.IndexFileSuffix || ext == LogSegment.TimeIndexFileSuffix || ext == LogSegment.TxnIndexFileSuffix)
                && !File.Exists(Path.ChangeExtension(file, LogSegment.LogFileSuffix)))
            {
                File.Delete(file);
                StorageLog.DeletedStrayFile(_logger, file);
            }
        }
    }

    /// <summary>The last offset of the last whole batch in a segment file (-1 when it has none).</summary>
    private static long LastOffsetInFile(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[Internal.Batches.HeaderSize];
        long position = 0;
        long last = -1;
        while (position + Internal.Batches.HeaderSize <= length && RandomAccess.Read(handle, header, position) == header.Length)
        {
            var size = (long)Internal.Batches.BatchLength(header) + Internal.Batches.LogOverhead;
            if (size < Internal.Batches.HeaderSize || position + size > length)
            {
                break;
            }

            last = Internal.Batches.LastOffset(header);
            position += size;
        }

        return last;
    }

    private static bool TryParseBaseOffset(string file, string suffix, out long baseOffset)
    {
        var name = Path.GetFileName(file);
        baseOffset = 0;
        return name.Length == 20 + suffix.Length
            && name.EndsWith(suffix, StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(0, 20), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out baseOffset);
    }
}
