using Microsoft.Extensions.Logging;

namespace Gregor.Storage;

/// <summary>Gregor.Storage's log messages (source-generated).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Loaded log {TopicPartition} in {Dir}: {Segments} segments, log start offset {LogStartOffset}, log end offset {LogEndOffset}")]
    public static partial void LogLoaded(ILogger logger, TopicPartition topicPartition, string dir, int segments, long logStartOffset, long logEndOffset);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Recovered segment {Segment} of {TopicPartition}: truncated {Bytes} bytes of invalid or partial batches at the tail")]
    public static partial void TruncatedTornTail(ILogger logger, string segment, TopicPartition topicPartition, long bytes);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Rebuilt missing or corrupt indexes of segment {Segment} of {TopicPartition}")]
    public static partial void RebuiltIndex(ILogger logger, string segment, TopicPartition topicPartition);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Recovering {TopicPartition} from offset {RecoveryPoint} ({Segments} unflushed segments)")]
    public static partial void Recovering(ILogger logger, TopicPartition topicPartition, long recoveryPoint, int segments);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Deleting segment {Segment} of {TopicPartition} that follows a truncated segment")]
    public static partial void DeletingSegmentAfterCorruption(ILogger logger, string segment, TopicPartition topicPartition);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Deleted stray file {File}")]
    public static partial void DeletedStrayFile(ILogger logger, string file);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Rolled new segment for {TopicPartition} at offset {BaseOffset}")]
    public static partial void Rolled(ILogger logger, TopicPartition topicPartition, long baseOffset);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Log start offset of {TopicPartition} moved to {LogStartOffset}; deleting {Segments} segments")]
    public static partial void LogStartOffsetMoved(ILogger logger, TopicPartition topicPartition, long logStartOffset, int segments);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Truncated {TopicPartition} to offset {Offset}")]
    public static partial void Truncated(ILogger logger, TopicPartition topicPartition, long offset);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Appending to {TopicPartition} at offset {LogEndOffset} failed; the segment was cut back and nothing was appended")]
    public static partial void AppendRolledBack(ILogger logger, Exception exception, TopicPartition topicPartition, long logEndOffset);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error, Message = "Log {TopicPartition} is offline until the broker restarts: {Reason}")]
    public static partial void LogOffline(ILogger logger, Exception exception, TopicPartition topicPartition, string reason);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Log directory {Dir}: cluster id {ClusterId}, node id {NodeId}, {Logs} logs loaded, clean shutdown: {Clean}")]
    public static partial void LogDirLoaded(ILogger logger, string dir, string clusterId, int nodeId, int logs, bool clean);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Background log job failed")]
    public static partial void BackgroundJobFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Created log {TopicPartition} in {Dir}")]
    public static partial void LogCreated(ILogger logger, TopicPartition topicPartition, string dir);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Deleted log {TopicPartition}")]
    public static partial void LogDeleted(ILogger logger, TopicPartition topicPartition);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Ignoring unreadable checkpoint {File}")]
    public static partial void BadCheckpoint(ILogger logger, string file, Exception exception);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Completed an interrupted cleaner swap of {TopicPartition}: {Segment}")]
    public static partial void CompletedSwap(ILogger logger, TopicPartition topicPartition, string segment);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Cleaned {TopicPartition} offsets {FirstOffset}..{EndOffset}: {BytesRead} bytes read, {BytesWritten} bytes written, {RecordsRead} records read, {RecordsKept} kept, in {ElapsedMs} ms")]
    public static partial void Cleaned(ILogger logger, TopicPartition topicPartition, long firstOffset, long endOffset, long bytesRead, long bytesWritten, long recordsRead, long recordsKept, long elapsedMs);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Cleaning {TopicPartition} failed; it stays as it was")]
    public static partial void CleaningFailed(ILogger logger, Exception exception, TopicPartition topicPartition);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Cleaner swap of {TopicPartition} abandoned: its segments changed while it was cleaning")]
    public static partial void SwapAbandoned(ILogger logger, TopicPartition topicPartition);
}
