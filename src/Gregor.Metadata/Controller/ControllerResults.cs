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
