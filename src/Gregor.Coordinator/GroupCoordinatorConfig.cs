namespace Gregor.Coordinator;

/// <summary>The group coordinator's broker configs, named and defaulted as in Kafka.</summary>
public sealed record GroupCoordinatorConfig
{
    /// <summary><c>offsets.topic.num.partitions</c>.</summary>
    public int OffsetsTopicNumPartitions { get; init; } = 50;

    /// <summary><c>group.initial.rebalance.delay.ms</c>: how long an Empty group waits for more members before its first rebalance.</summary>
    public int GroupInitialRebalanceDelayMs { get; init; } = 3000;

    /// <summary><c>group.min.session.timeout.ms</c>.</summary>
    public int GroupMinSessionTimeoutMs { get; init; } = 6000;

    /// <summary><c>group.max.session.timeout.ms</c>.</summary>
    public int GroupMaxSessionTimeoutMs { get; init; } = 1_800_000;

    /// <summary><c>group.max.size</c>.</summary>
    public int GroupMaxSize { get; init; } = int.MaxValue;

    /// <summary><c>offsets.retention.minutes</c> (7 days, KIP-186).</summary>
    public int OffsetsRetentionMinutes { get; init; } = 7 * 24 * 60;

    /// <summary><c>offsets.retention.check.interval.ms</c>.</summary>
    public long OffsetsRetentionCheckIntervalMs { get; init; } = 600_000;

    /// <summary><c>offset.metadata.max.bytes</c>.</summary>
    public int OffsetMetadataMaxBytes { get; init; } = 4096;

    /// <summary><c>group.consumer.session.timeout.ms</c> (KIP-848).</summary>
    public int ConsumerGroupSessionTimeoutMs { get; init; } = 45_000;

    /// <summary><c>group.consumer.heartbeat.interval.ms</c> (KIP-848).</summary>
    public int ConsumerGroupHeartbeatIntervalMs { get; init; } = 5000;

    /// <summary><c>group.consumer.max.size</c>.</summary>
    public int ConsumerGroupMaxSize { get; init; } = int.MaxValue;

    /// <summary><c>group.consumer.assignors</c>: the first one is the default.</summary>
    public IReadOnlyList<string> ConsumerGroupAssignors { get; init; } = ["uniform", "range"];

    /// <summary>Whether <c>group.coordinator.rebalance.protocols</c> lists <c>consumer</c> (KIP-848 groups).</summary>
    public bool ConsumerProtocolEnabled { get; init; } = true;

    public TimeSpan OffsetsRetention => TimeSpan.FromMinutes(OffsetsRetentionMinutes);
}
