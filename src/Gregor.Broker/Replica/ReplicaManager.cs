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
    private ReplicaFetcherManager? _fetchers;

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
        StartReplication(settings);
    }

    /// <summary>
    /// The error for a partition this broker holds no replica of, as Kafka's ReplicaManager answers
    /// it: NOT_LEADER_OR_FOLLOWER when the cluster metadata knows the partition (the client's
    /// metadata is stale and it should refresh and go to the leader), UNKNOWN_TOPIC_OR_PARTITION
    /// when nobody does.
    /// </summary>
    public ErrorCode NoReplicaError(string topic, int partitionIndex) =>
        Replication?.Metadata is { } metadata && metadata.TryGetTopic(topic, out var t) && partitionIndex >= 0 && partitionIndex < t.Partitions.Count
            ? ErrorCode.NotLeaderOrFollower
            : ErrorCode.UnknownTopicOrPartition;

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
            var key = (topic.Name, partitionMetadata.PartitionIndex);
            if (!partitionMetadata.Replicas.Contains(LocalNodeId))
            {
                // Reassigned away from this node: stop following (the log stays until the topic goes).
                if (Replication is not null && _partitions.TryRemove(key, out var moved))
                {
                    _fetchers?.RemovePartition(moved);
                    moved.OnLeadershipLost();
                }

                continue;
            }

            if (_partitions.TryGetValue(key, out var existing))
            {
                var wasLeader = existing.IsLeader;
                var oldLeader = existing.LeaderId;
                var oldEpoch = existing.LeaderEpoch;
                lock (existing)
                {
                    existing.Update(partitionMetadata);
                }

                // Config changes apply live (retention, segment size, cleanup policy, ...).
                existing.Log.Config = config;
                if (existing.LeaderId != oldLeader || existing.LeaderEpoch != oldEpoch || existing.IsLeader != wasLeader)
                {
                    OnLeadershipChange(existing, wasLeader);
                }
                else if (existing.IsLeader)
                {
                    // The ISR may have changed (shrunk by the controller): the high watermark may move.
                    MaybeAdvanceHighWatermark(existing);
                }

                continue;
            }

            var log = _logManager.GetOrCreateLog(topic.Name, partitionMetadata.PartitionIndex, topic.TopicId, config);
            var partition = new Partition(topic.Name, partitionMetadata.PartitionIndex, topic.TopicId, log, partitionMetadata, LocalNodeId);
            _partitions[key] = partition;
            OnLeadershipChange(partition, wasLeader: false);
        }
    }

    /// <summary>Kafka's makeLeader / makeFollower for a partition whose leader or leader epoch changed.</summary>
    private void OnLeadershipChange(Partition partition, bool wasLeader)
    {
        if (Replication is null)
        {
            if (partition.IsLeader)
            {
                // On a single node every replica is in sync, so everything in the log is committed.
                AdvanceHighWatermark(partition, 0);
            }

            return;
        }

        if (partition.IsLeader)
        {
            _fetchers?.RemovePartition(partition);
            lock (partition)
            {
                // KIP-101: the new epoch starts at our log end; followers truncate to it.
                partition.LeaderEpochStartOffset = partition.Log.LogEndOffset;
                partition.Log.LeaderEpochCache.Assign(partition.LeaderEpoch, partition.Log.LogEndOffset);
                partition.ResetFollowers(NowMs);
                partition.PendingIsr = null;
            }

            ReplicaLog.BecameLeader(_logger, partition.Topic, partition.PartitionIndex, partition.LeaderEpoch, partition.Log.LogEndOffset, partition.HighWatermark);
            MaybeAdvanceHighWatermark(partition);
            return;
        }

        if (wasLeader)
        {
            partition.OnLeadershipLost();
        }
        else
        {
            // Consumers parked on us learn of the new leader on their next read.
            partition.WakeWaiters();
        }

        partition.LeaderEpochStartOffset = -1;
        ReplicaLog.BecameFollower(_logger, partition.Topic, partition.PartitionIndex, partition.LeaderId, partition.LeaderEpoch);
        _fetchers?.AddPartition(partition);
    }

    /// <summary>Stops hosting a deleted topic and deletes its local logs.</summary>
    public void RemoveTopic(TopicMetadata topic)
    {
        foreach (var partitionMetadata in topic.Partitions)
        {
            if (_partitions.TryRemove((topic.Name, partitionMetadata.PartitionIndex), out var partition))
            {
                _fetchers?.RemovePartition(partition);
                partition.MarkDeleted();
                _logManager.DeleteLog(new TopicPartition(topic.Name, partitionMetadata.PartitionIndex));
            }
        }
    }

    private long NowMs => _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>After a leader append: on a lone node everything appended is committed; in a cluster the followers are woken and the ISR decides.</summary>
    private void AdvanceHighWatermark(Partition partition, long appendedBytes)
    {
        if (Replication is not null)
        {
            if (appendedBytes > 0)
            {
                partition.OnLeaderAppend(appendedBytes);
            }

            MaybeAdvanceHighWatermark(partition, appendedBytes);
            return;
        }

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
            // acks=all produces parked for replication answer NOT_LEADER_OR_FOLLOWER: the client
            // retries on the partition's next leader instead of waiting out its timeout.
            partition.OnLeadershipLost();
        }
    }

    public void Dispose()
    {
        StopReplication();
        foreach (var partition in _partitions.Values)
        {
            partition.MarkDeleted();
        }

        _partitions.Clear();
    }
}
