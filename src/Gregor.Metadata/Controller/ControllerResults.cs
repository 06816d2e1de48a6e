using Gregor.Metadata.Image;
using Gregor.Protocol;

namespace Gregor.Metadata.Controller;

/// <summary>Settings the active controller takes from the broker configuration (Kafka's names).</summary>
public sealed class QuorumControllerOptions
{
    /// <summary><c>num.partitions</c>: used when CreateTopics asks for -1 partitions.</summary>
    public int DefaultNumPartitions { get; init; } = 1;

    /// <summary><c>default.replication.factor</c>: used when CreateTopics asks for replication factor -1.</summary>
    public int DefaultReplicationFactor { get; init; } = 1;

    /// <summary><c>broker.session.timeout.ms</c>: a broker without a heartbeat for this long is fenced.</summary>
    public TimeSpan BrokerSessionTimeout { get; init; } = TimeSpan.FromMilliseconds(9000);

    /// <summary>
    /// Where this node keeps metadata image snapshots; null keeps none. A controller starts from
    /// the newest snapshot and replays only the entries after it.
    /// </summary>
    public string? SnapshotDirectory { get; init; }

    /// <summary><c>metadata.log.max.record.bytes.between.snapshots</c>: entry bytes replayed before the next snapshot.</summary>
    public long MaxBytesBetweenSnapshots { get; init; } = 20 * 1024 * 1024;

    /// <summary>How often the active controller looks for brokers whose session expired.</summary>
    public TimeSpan BrokerSessionCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Producer ids handed to a broker per AllocateProducerIds (Kafka's block size).</summary>
    public int ProducerIdBlockSize { get; init; } = 1000;

    /// <summary><c>auto.leader.rebalance.enable</c>: move leadership back to preferred replicas periodically.</summary>
    public bool AutoLeaderRebalanceEnable { get; init; } = true;

    /// <summary><c>leader.imbalance.check.interval.seconds</c>.</summary>
    public TimeSpan LeaderImbalanceCheckInterval { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary><c>unclean.leader.election.enable</c>, the broker default for topics without an override.</summary>
    public bool UncleanLeaderElectionEnable { get; init; }
}

/// <summary>One topic of a CreateTopics request as the controller sees it.</summary>
public sealed record CreatableTopic(
    string Name,
    int NumPartitions = -1,
    short ReplicationFactor = -1,
    IReadOnlyList<IReadOnlyList<int>>? Assignments = null,
    IReadOnlyDictionary<string, string>? Configs = null);

public sealed record CreateTopicResult(string Name, ErrorCode ErrorCode, string? ErrorMessage, Uuid TopicId, int NumPartitions, short ReplicationFactor);

public sealed record BrokerRegistrationResult(ErrorCode ErrorCode, long BrokerEpoch);

public sealed record BrokerHeartbeatResult(ErrorCode ErrorCode, bool IsCaughtUp, bool IsFenced, bool ShouldShutDown);

public sealed record ProducerIdBlock(ErrorCode ErrorCode, long FirstProducerId, int Size);

/// <summary>What a broker sends to register (BrokerRegistrationRequest's essentials).</summary>
public sealed record BrokerRegistrationRequestData(int BrokerId, Uuid IncarnationId, IReadOnlyList<BrokerEndpoint> Listeners, string? Rack = null);

public sealed record AlterPartitionResult(ErrorCode ErrorCode, PartitionRegistration? Partition)
{
    public static AlterPartitionResult Failed(ErrorCode error) => new(error, null);
}

/// <summary>Kafka's election types (ElectLeaders v1+).</summary>
public enum ElectionType : sbyte
{
    Preferred = 0,
    Unclean = 1,
}

public sealed record ElectionResult(string Topic, int Partition, ErrorCode ErrorCode, string? ErrorMessage);

/// <summary>A topic carried over from outside the metadata log, ids and epochs kept.</summary>
public sealed record ImportedTopic(string Name, Uuid Id, IReadOnlyList<ImportedPartition> Partitions, IReadOnlyDictionary<string, string> Configs);

public sealed record ImportedPartition(int Index, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr, int Leader, int LeaderEpoch, int PartitionEpoch);
