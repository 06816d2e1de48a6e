using Microsoft.Extensions.Logging;

namespace Gregor.Broker;

/// <summary>The broker's log messages, source-generated (no boxing, no formatting when disabled).</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "Wrote topic metadata to {Path} ({Count} topics)")]
    public static partial void TopicMetadataWritten(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Created topic {Topic} (id {TopicId}) with {Partitions} partitions, replication factor {ReplicationFactor}")]
    public static partial void TopicCreated(ILogger logger, string topic, string topicId, int partitions, int replicationFactor);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Deleted topic {Topic} (id {TopicId})")]
    public static partial void TopicDeleted(ILogger logger, string topic, string topicId);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Auto-created topic {Topic} on {Api} from client {ClientId}")]
    public static partial void TopicAutoCreated(ILogger logger, string topic, string api, string? clientId);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Error, Message = "Append to {Topic}-{Partition} failed with an I/O error")]
    public static partial void AppendIoFailed(ILogger logger, Exception exception, string topic, int partition);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Error, Message = "Read from {Topic}-{Partition} failed with an I/O error")]
    public static partial void ReadFailed(ILogger logger, Exception exception, string topic, int partition);



    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Topic {Topic}: {Note}")]
    public static partial void RemovedTopicConfig(ILogger logger, string topic, string note);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Unexpected error handling {ApiKey} v{Version} (correlation id {CorrelationId}) from {ClientId}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string apiKey, short version, int correlationId, string? clientId);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Append to {Topic}-{Partition} failed with {Error}: {Message}")]
    public static partial void AppendFailed(ILogger logger, string topic, int partition, string error, string? message);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Transaction marker for {TransactionalId} to {Topic}-{Partition} failed with {Error}")]
    public static partial void TxnMarkerFailed(ILogger logger, string transactionalId, string topic, int partition, string error);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Aborting transaction of {TransactionalId} (producer id {ProducerId}, epoch {ProducerEpoch}): open past its timeout")]
    public static partial void TxnTimedOut(ILogger logger, string transactionalId, long producerId, short producerEpoch);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Aborting timed-out transactions failed")]
    public static partial void TxnAbortFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Committing the offsets of transaction {TransactionalId} to group {GroupId} failed with {Error}")]
    public static partial void TxnOffsetsFailed(ILogger logger, string transactionalId, string groupId, string error);
}
