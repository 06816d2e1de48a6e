using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Replica;

/// <summary>Replication's log messages (event ids 1200-1299).</summary>
internal static partial class ReplicaLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Leader {Topic}-{Partition} in epoch {LeaderEpoch} from log end offset {LogEndOffset}, high watermark {HighWatermark}")]
    public static partial void BecameLeader(ILogger logger, string topic, int partition, int leaderEpoch, long logEndOffset, long highWatermark);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Follower of {Topic}-{Partition}: leader {LeaderId} in epoch {LeaderEpoch}")]
    public static partial void BecameFollower(ILogger logger, string topic, int partition, int leaderId, int leaderEpoch);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "{Topic}-{Partition}: proposing ISR {Isr} (from {OldIsr}) at partition epoch {PartitionEpoch}")]
    public static partial void ProposingIsr(ILogger logger, string topic, int partition, string isr, string oldIsr, int partitionEpoch);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "{Topic}-{Partition}: AlterPartition failed with {Error}")]
    public static partial void AlterPartitionFailed(ILogger logger, string topic, int partition, string error);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "{Topic}-{Partition}: truncating to offset {Offset} (leader {LeaderId} answered epoch {LeaderEpoch} ends at {EndOffset})")]
    public static partial void TruncatingFollower(ILogger logger, string topic, int partition, long offset, int leaderId, int leaderEpoch, long endOffset);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "Replica fetcher {Fetcher} for leader {LeaderId}: {Message}")]
    public static partial void FetcherError(ILogger logger, Exception? exception, string fetcher, int leaderId, string message);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "{Topic}-{Partition}: follower append failed with {Error}: {Message}")]
    public static partial void FollowerAppendFailed(ILogger logger, string topic, int partition, string error, string? message);
}
