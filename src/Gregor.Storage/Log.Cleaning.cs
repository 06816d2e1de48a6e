namespace Gregor.Storage;

public sealed partial class Log
{
    /// <summary>The current segment list (oldest first; the last is active). Readers' snapshot.</summary>
    internal LogSegment[] Segments => _segments;

    internal long CurrentTimeMs => NowMs;

    internal bool IsClosed => _closed;

    /// <summary>A new segment for the cleaner's output, its files named <c>*.cleaned</c>.</summary>
    internal LogSegment CreateCleanedSegment(long baseOffset)
    {
        var path = LogSegment.FilePath(Dir, baseOffset, LogSegment.LogFileSuffix) + LogSegment.CleanedFileSuffix;
        File.Delete(path);
        File.Delete(LogSegment.FilePath(Dir, baseOffset, LogSegment.IndexFileSuffix) + LogSegment.CleanedFileSuffix);
        File.Delete(LogSegment.FilePath(Dir, baseOffset, LogSegment.TimeIndexFileSuffix) + LogSegment.CleanedFileSuffix);
        return LogSegment.Open(Dir, baseOffset, _config, NowMs, active: true, fileSuffix: LogSegment.CleanedFileSuffix);
    }

    /// <summary>
    /// Kafka's replaceSegments: the cleaned segment (already renamed to <c>.swap</c> and flushed)
    /// takes the place of <paramref name="oldSegments"/>. The old ones are renamed <c>.deleted</c>
    /// (removed after file.delete.delay.ms, so reads holding them finish), then the swap file gets
    /// its final name. A crash between the steps is finished by recovery (see Log.Recovery).
    /// Returns false, leaving the log untouched, when the old segments are no longer all there
    /// (retention, DeleteRecords or truncation ran meanwhile).
    /// </summary>
    internal bool ReplaceSegments(IReadOnlyList<LogSegment> oldSegments, LogSegment replacement, Action<string>? testHook)
    {
        lock (_lock)
        {
            var segments = _segments;
            var first = Array.IndexOf(segments, oldSegments[0]);
            if (_closed || first < 0 || first + oldSegments.Count >= segments.Length)
            {
                return false;
            }

            for (var i = 0; i < oldSegments.Count; i++)
            {
                if (!ReferenceEquals(segments[first + i], oldSegments[i]))
                {
                    return false;
                }
            }

            var updated = new LogSegment[segments.Length - oldSegments.Count + 1];
            Array.Copy(segments, updated, first);
            updated[first] = replacement;
            Array.Copy(segments, first + oldSegments.Count, updated, first + 1, segments.Length - first - oldSegments.Count);

            var due = NowMs + _config.FileDeleteDelayMs;
            foreach (var old in oldSegments)
            {
                old.ChangeFileSuffixes(LogSegment.DeletedFileSuffix);
                _pendingDeletes.Add((old, due));
            }

            testHook?.Invoke(CleanerHookPoints.OldSegmentsRenamed);
            replacement.ReplaceFileSuffix(LogSegment.SwapFileSuffix, "");
            _segments = updated;
            return true;
        }
    }
}

/// <summary>Points in a cleaning pass where a test hook can simulate a crash (by throwing).</summary>
public static class CleanerHookPoints
{
    /// <summary>The cleaned output is complete as <c>.cleaned</c> files, not yet <c>.swap</c>.</summary>
    public const string CleanedWritten = "cleaned-written";

    /// <summary>The output is renamed to <c>.swap</c>; the old segments are untouched.</summary>
    public const string SwapWritten = "swap-written";

    /// <summary>The old segments are renamed <c>.deleted</c>; the <c>.swap</c> is not renamed yet.</summary>
    public const string OldSegmentsRenamed = "old-segments-renamed";
}
