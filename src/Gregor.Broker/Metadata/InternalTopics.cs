namespace Gregor.Broker.Metadata;

/// <summary>
/// How Kafka creates its internal topics (AutoTopicCreationManager): <c>__consumer_offsets</c> and
/// <c>__transaction_state</c> are compacted, with their own partition counts and replication
/// factors. The replication factors are not capped at the live brokers: while fewer are alive the
/// creation fails and the coordinators answer COORDINATOR_NOT_AVAILABLE, as in Kafka (a lone node's
/// defaults are 1, as Kafka's quickstart configuration sets them).
/// </summary>
public static class InternalTopics
{
    /// <summary>The partitions, replication factor and configs of an internal topic; (-1, -1, none) for any other name.</summary>
    public static (int Partitions, short ReplicationFactor, IReadOnlyList<KeyValuePair<string, string?>> Configs) CreationSettings(BrokerSettings settings, string name)
    {
        switch (name)
        {
            case TopicNames.GroupMetadataTopicName:
                return (settings.OffsetsTopicNumPartitions, settings.OffsetsTopicReplicationFactor,
                    [new("cleanup.policy", "compact"), new("compression.type", "producer"), new("segment.bytes", "104857600")]);
            case TopicNames.TransactionStateTopicName:
                var factor = settings.TransactionStateLogReplicationFactor;
                var minIsr = Math.Min(settings.TransactionStateLogMinIsr, (int)factor);
                return (settings.TransactionStateLogNumPartitions, factor,
                    [new("cleanup.policy", "compact"), new("compression.type", "uncompressed"), new("segment.bytes", "104857600"),
                     new("min.insync.replicas", minIsr.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("unclean.leader.election.enable", "false")]);
            default:
                return (-1, -1, []);
        }
    }
}
