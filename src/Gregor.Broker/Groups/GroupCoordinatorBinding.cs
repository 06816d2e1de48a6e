using System.Globalization;
using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Coordinator;
using Gregor.Protocol;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Groups;

/// <summary>
/// Binds the group coordinator to this broker: its configuration from the broker properties (Kafka
/// names), its log (<c>__consumer_offsets</c> through the replica manager), the topic that is
/// created on first use, and loading every partition this broker leads.
/// </summary>
public sealed class GroupCoordinatorBinding : IDisposable
{
    private readonly BrokerContext _broker;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Task> _loads = [];
    private bool _disposed;

    public GroupCoordinatorBinding(BrokerContext broker)
    {
        _broker = broker;
        Config = ConfigFrom(broker.Settings);
        if (broker.Metadata.TryGetTopic(TopicNames.GroupMetadataTopicName, out var existing) && existing.Partitions.Count > 0)
        {
            // As Kafka: groups map onto the partitions the topic has, whatever the config says today.
            Config = Config with { OffsetsTopicNumPartitions = existing.Partitions.Count };
        }

        Coordinator = new GroupCoordinator(
            Config,
            new ReplicaCoordinatorLog(broker.ReplicaManager, broker.TimeProvider),
            new MetadataViewTopicSource(broker.Metadata),
            broker.TimeProvider,
            broker.LoggerFactory.CreateLogger<GroupCoordinator>());
        broker.ReplicaManager.TxnMarkerWritten += OnTxnMarkerWritten;
    }

    private void OnTxnMarkerWritten(TxnMarkerAppended marker)
    {
        if (marker.Topic == TopicNames.GroupMetadataTopicName)
        {
            Coordinator.CompleteTransaction(marker.Partition, marker.ProducerId, marker.Commit ? TransactionResult.Commit : TransactionResult.Abort);
        }
    }

    public GroupCoordinatorConfig Config { get; }

    public IGroupCoordinator Coordinator { get; }

    /// <summary>On start-up, loads the partitions of an existing <c>__consumer_offsets</c> in the background.</summary>
    public void Start()
    {
        // Leadership of __consumer_offsets partitions moves in a cluster: a broker that becomes
        // leader loads the partition's groups (with the new epoch's log), one that stops being
        // leader drops them so clients are sent to the new coordinator (NOT_COORDINATOR).
        _broker.TopicWriter.TopicsChanged += OnTopicsChanged;
        if (_broker.Metadata.TryGetTopic(TopicNames.GroupMetadataTopicName, out var topic))
        {
            LoadLeaderPartitions(topic);
        }
    }

    /// <summary>
    /// Makes sure <c>__consumer_offsets</c> exists (created on first use, as Kafka does, with its
    /// partition count, compaction and replication factor) and that
    /// the partition coordinating <paramref name="key"/> is loaded or loading.
    /// Returns COORDINATOR_NOT_AVAILABLE when the topic cannot be created.
    /// </summary>
    public async ValueTask<ErrorCode> EnsureCoordinatorAsync(string key, CancellationToken cancellationToken)
    {
        if (Coordinator.IsPartitionLoaded(Coordinator.PartitionFor(key)))
        {
            return ErrorCode.None;
        }

        if (!_broker.Metadata.TryGetTopic(TopicNames.GroupMetadataTopicName, out var topic))
        {
            var settings = _broker.Settings;
            // Not capped at the live brokers: too few answer COORDINATOR_NOT_AVAILABLE, as in Kafka.
            var factor = settings.OffsetsTopicReplicationFactor;
            var result = _broker.TopicCreator.Create(
                TopicNames.GroupMetadataTopicName,
                Config.OffsetsTopicNumPartitions,
                factor,
                null,
                [new("cleanup.policy", "compact"), new("compression.type", "producer"), new("segment.bytes", "104857600")],
                validateOnly: false);
            if (!_broker.Metadata.TryGetTopic(TopicNames.GroupMetadataTopicName, out topic))
            {
                _broker.Logger.LogWarning("Creating {Topic} failed: {Error} {Message}", TopicNames.GroupMetadataTopicName, result.ErrorCode, result.ErrorMessage);
                return ErrorCode.CoordinatorNotAvailable;
            }
        }

        LoadLeaderPartitions(topic);
        Task? load;
        lock (_lock)
        {
            _loads.TryGetValue(Coordinator.PartitionFor(key), out load);
        }

        if (load is null)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (load.IsCompleted)
        {
            return ErrorCode.None;
        }

        // A freshly created partition is empty and loads at once; an old one may take a moment,
        // during which group requests answer COORDINATOR_LOAD_IN_PROGRESS and clients retry.
        await Task.WhenAny(load, Task.Delay(TimeSpan.FromMilliseconds(500), _broker.TimeProvider, cancellationToken)).ConfigureAwait(false);
        return ErrorCode.None;
    }

    private void OnTopicsChanged(TopicMetadata? removed, TopicMetadata? added)
    {
        if ((added ?? removed)?.Name != TopicNames.GroupMetadataTopicName)
        {
            return;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var index in _loads.Keys.ToList())
            {
                var now = added?.Partitions.FirstOrDefault(p => p.PartitionIndex == index);
                var before = removed?.Partitions.FirstOrDefault(p => p.PartitionIndex == index);
                var stillLeads = now is not null && now.LeaderId == _broker.NodeId
                    && (before is null || before.LeaderEpoch == now.LeaderEpoch);
                if (!stillLeads)
                {
                    // Lost leadership, or won it again in a newer epoch: what was loaded may be stale.
                    _loads.Remove(index);
                    Coordinator.UnloadPartition(index);
                }
            }
        }

        if (added is not null)
        {
            LoadLeaderPartitions(added);
        }
    }

    private void LoadLeaderPartitions(TopicMetadata topic)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var partition in topic.Partitions)
            {
                if (partition.LeaderId != _broker.NodeId || _loads.ContainsKey(partition.PartitionIndex))
                {
                    continue;
                }

                var index = partition.PartitionIndex;
                _loads[index] = Task.Run(async () =>
                {
                    try
                    {
                        await Coordinator.LoadPartitionAsync(index).ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        _broker.Logger.LogError(e, "Loading {Topic}-{Partition} failed", TopicNames.GroupMetadataTopicName, index);
                        lock (_lock)
                        {
                            _loads.Remove(index);
                        }
                    }
                });
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _broker.TopicWriter.TopicsChanged -= OnTopicsChanged;
        _broker.ReplicaManager.TxnMarkerWritten -= OnTxnMarkerWritten;

        ((IDisposable)Coordinator).Dispose();
    }

    /// <summary>The coordinator's configs from the broker properties, under Kafka's names and with Kafka's defaults.</summary>
    public static GroupCoordinatorConfig ConfigFrom(BrokerSettings settings)
    {
        var p = settings.Properties;
        var defaults = new GroupCoordinatorConfig();
        int Int(string name, int fallback) => p.TryGetValue(name, out var v) && int.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : fallback;
        long Long(string name, long fallback) => p.TryGetValue(name, out var v) && long.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : fallback;
        var assignors = p.TryGetValue("group.consumer.assignors", out var list)
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ShortAssignorName).ToList()
            : defaults.ConsumerGroupAssignors;
        return new GroupCoordinatorConfig
        {
            OffsetsTopicNumPartitions = settings.OffsetsTopicNumPartitions,
            GroupInitialRebalanceDelayMs = Int("group.initial.rebalance.delay.ms", defaults.GroupInitialRebalanceDelayMs),
            GroupMinSessionTimeoutMs = Int("group.min.session.timeout.ms", defaults.GroupMinSessionTimeoutMs),
            GroupMaxSessionTimeoutMs = Int("group.max.session.timeout.ms", defaults.GroupMaxSessionTimeoutMs),
            GroupMaxSize = Int("group.max.size", defaults.GroupMaxSize),
            OffsetsRetentionMinutes = Int("offsets.retention.minutes", defaults.OffsetsRetentionMinutes),
            OffsetsRetentionCheckIntervalMs = Long("offsets.retention.check.interval.ms", defaults.OffsetsRetentionCheckIntervalMs),
            OffsetMetadataMaxBytes = Int("offset.metadata.max.bytes", defaults.OffsetMetadataMaxBytes),
            ConsumerGroupSessionTimeoutMs = Int("group.consumer.session.timeout.ms", defaults.ConsumerGroupSessionTimeoutMs),
            ConsumerGroupHeartbeatIntervalMs = Int("group.consumer.heartbeat.interval.ms", defaults.ConsumerGroupHeartbeatIntervalMs),
            ConsumerGroupMaxSize = Int("group.consumer.max.size", defaults.ConsumerGroupMaxSize),
            ConsumerGroupAssignors = assignors.Count > 0 ? assignors : defaults.ConsumerGroupAssignors,
            ConsumerProtocolEnabled = IsConsumerProtocolEnabled(p),
        };
    }

    /// <summary>Whether <c>group.coordinator.rebalance.protocols</c> (default classic,consumer) enables KIP-848 groups.</summary>
    public static bool IsConsumerProtocolEnabled(IReadOnlyDictionary<string, string> properties) =>
        !properties.TryGetValue("group.coordinator.rebalance.protocols", out var protocols)
        || protocols.Split(',', StringSplitOptions.TrimEntries).Contains("consumer", StringComparer.OrdinalIgnoreCase);

    /// <summary>Kafka configures assignors by class name (…UniformAssignor); clients ask for them by short name (uniform).</summary>
    private static string ShortAssignorName(string configured)
    {
        var simple = configured[(configured.LastIndexOf('.') + 1)..];
        return simple.EndsWith("Assignor", StringComparison.Ordinal) ? simple[..^"Assignor".Length].ToLowerInvariant() : simple;
    }
}
