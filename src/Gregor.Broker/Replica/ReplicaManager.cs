using System.Collections.Concurrent;
using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Storage;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Replica;

/// <summary>
/// Kafka's ReplicaManager: the partitions this broker hosts, appends for produce, reads for fetch
/// (with long-poll), and offsets for ListOffsets. Single node for now, but shaped so replication
/// slots in: partitions carry leader epoch and ISR, and the high watermark is advanced here after
/// an append rather than assumed by readers.
/// </summary>
public sealed partial class ReplicaManager : IDisposable
{
    private readonly ConcurrentDictionary<(string Topic, int Partition), Partition> _partitions = new();
    private readonly LogManager _logManager;
    private readonly IReadOnlyDictionary<string, string> _brokerProperties;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private bool _shuttingDown;

    public ReplicaManager(
        int localNodeId,
        LogManager logManager,
        IReadOnlyDictionary<string, string> brokerProperties,
        TimeProvider timeProvider,
        ILogger<ReplicaManager>? logger = null)
    {
        LocalNodeId = localNodeId;
        _logManager = logManager;
        _brokerProperties = brokerProperties;
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    public int LocalNodeId { get; }

    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>The log manager behind the partitions (log dirs for DescribeLogDirs).</summary>
    public LogManager LogManager => _logManager;

    public ICollection<Partition> Partitions => _partitions.Values;

    /// <summary>Set once the node is part of a cluster (see <see cref="EnableReplication"/>); null on a lone node.</summary>
    public ReplicationSettings? Replication { get; private set; }

    /// <summary>
    /// Called by the host before the first topic is applied when the node takes part in a cluster:
    /// partitions this node follows then fetch from their leaders, and leaders track their ISR.
    /// </summary>
    public void EnableReplication(ReplicationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Replication = settings;
    }

    public Partition? GetPartition(string topic, int partitionIndex) =>
        _partitions.TryGetValue((topic, partitionIndex), out var partition) ? partition : null;

    /// <summary>The topic-level configuration (topic overrides over broker defaults) for a topic.</summary>
    public LogConfig CreateLogConfig(IReadOnlyDictionary<string, string> topicConfigs) =>
        LogConfig.Create(_brokerProperties, topicConfigs);

    /// <summary>
    /// Opens (or creates) the local logs of a topic's partitions that list this node as a replica
    /// and starts leading those that name it leader. The metadata layer calls this for every
    /// topic at start-up and for every new topic; the controller's metadata deltas will later.
    /// </summary>
    public void ApplyTopic(TopicMetadata topic)
    {
        var config = CreateLogConfig(topic.Configs);
        foreach (var partitionMetadata in topic.Partitions)
        {
            if (!partitionMetadata.Replicas.Contains(LocalNodeId))
            {
                continue;
            }

            var key = (topic.Name, partitionMetadata.PartitionIndex);
            if (_partitions.TryGetValue(key, out var existing))
            {
                existing.Update(partitionMetadata);
                // Config changes apply live (retention, segment size, cleanup policy, ...).
                existing.Log.Config = config;

                continue;
            }

            var log = _logManager.GetOrCreateLog(topic.Name, partitionMetadata.PartitionIndex, topic.TopicId, config);
            var partition = new Partition(topic.Name, partitionMetadata.PartitionIndex, topic.TopicId, log, partitionMetadata, LocalNodeId);
            if (partition.IsLeader)
            {
                // On a single node every replica is in sync, so everything in the log is committed.
                AdvanceHighWatermark(partition, 0);
            }

            _partitions[key] = partition;
        }
    }

    /// <summary>Stops hosting a deleted topic and deletes its local logs.</summary>
    public void RemoveTopic(TopicMetadata topic)
    {
        foreach (var partitionMetadata in topic.Partitions)
        {
            if (_partitions.TryRemove((topic.Name, partitionMetadata.PartitionIndex), out var partition))
            {
                partition.MarkDeleted();
                _logManager.DeleteLog(new TopicPartition(topic.Name, partitionMetadata.PartitionIndex));
            }
        }
    }

    private void AdvanceHighWatermark(Partition partition, long appendedBytes)
    {
        var log = partition.Log;
        lock (partition)
        {
            var logEndOffset = log.LogEndOffset;
            if (logEndOffset > log.HighWatermark)
            {
                log.HighWatermark = logEndOffset;
            }
        }

        if (appendedBytes > 0)
        {
            partition.OnHighWatermarkAdvanced(appendedBytes);
        }
    }

    /// <summary>Answers every parked fetch now (before a graceful shutdown).</summary>
    public void WakeAllWaiters()
    {
        // From now on fetches answer at once instead of parking: the broker is going away.
        Volatile.Write(ref _shuttingDown, true);
        foreach (var partition in _partitions.Values)
        {
            partition.WakeWaiters();
        }
    }

    public void Dispose()
    {
        foreach (var partition in _partitions.Values)
        {
            partition.MarkDeleted();
        }

        _partitions.Clear();
    }
}
