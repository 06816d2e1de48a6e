using Microsoft.Extensions.Logging;

namespace Gregor.Host;

internal static partial class HostLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Gregor broker {NodeId} started (cluster id {ClusterId}); listeners: {Listeners}; log dirs: {LogDirs}")]
    public static partial void Started(ILogger logger, int nodeId, string clusterId, string listeners, string logDirs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Recovered {Count} topics: {Topics}")]
    public static partial void TopicsRecovered(ILogger logger, int count, string topics);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Adopted topic {Topic} (id {TopicId}, {Partitions} partitions) found in the log dirs but missing from the topic metadata file")]
    public static partial void TopicAdopted(ILogger logger, string topic, string topicId, int partitions);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Gregor broker stopped")]
    public static partial void Stopped(ILogger logger);
}
