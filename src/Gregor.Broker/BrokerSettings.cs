namespace Gregor.Broker;

/// <summary>
/// The broker properties handlers consult on every request, parsed once (Kafka names, defaults as
/// Kafka's). The full typed configuration lives in <c>Config/BrokerConfig</c>.
/// </summary>
public sealed record BrokerSettings
{
    public int NodeId { get; init; } = 1;

    public string? Rack { get; init; }

    /// <summary><c>auto.create.topics.enable</c>.</summary>
    public bool AutoCreateTopicsEnable { get; init; } = true;

    /// <summary><c>num.partitions</c>.</summary>
    public int NumPartitions { get; init; } = 1;

    /// <summary><c>default.replication.factor</c>.</summary>
    public short DefaultReplicationFactor { get; init; } = 1;

    /// <summary><c>delete.topic.enable</c>.</summary>
    public bool DeleteTopicEnable { get; init; } = true;

    /// <summary><c>offsets.topic.num.partitions</c>: used when <c>__consumer_offsets</c> is auto-created.</summary>
    public int OffsetsTopicNumPartitions { get; init; } = 50;

    /// <summary><c>offsets.topic.replication.factor</c> (capped at the live broker count, as Kafka does for the offsets topic).</summary>
    public short OffsetsTopicReplicationFactor { get; init; } = 3;

    /// <summary><c>transaction.state.log.num.partitions</c>: used when <c>__transaction_state</c> is auto-created.</summary>
    public int TransactionStateLogNumPartitions { get; init; } = 50;

    /// <summary><c>transaction.state.log.replication.factor</c> (capped at the live broker count).</summary>
    public short TransactionStateLogReplicationFactor { get; init; } = 3;

    /// <summary><c>transaction.state.log.min.isr</c> (capped at the replication factor actually used).</summary>
    public int TransactionStateLogMinIsr { get; init; } = 2;

    /// <summary>Every broker property as given (file, environment, overrides): topic defaults come from here.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();
}
