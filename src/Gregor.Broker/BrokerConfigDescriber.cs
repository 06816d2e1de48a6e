using Gregor.Broker.Config;

namespace Gregor.Broker;

/// <summary>Serves DescribeConfigs for the broker resource from the typed <see cref="BrokerConfig"/>.</summary>
public sealed class BrokerConfigDescriber : IBrokerConfigDescriber
{
    private readonly BrokerConfig _config;

    public BrokerConfigDescriber(BrokerConfig config)
    {
        _config = config;
    }

    public IEnumerable<DescribedConfig> Describe(IReadOnlyCollection<string>? names)
    {
        foreach (var entry in _config.Describe(names))
        {
            yield return new DescribedConfig(
                entry.Name,
                entry.Value,
                (sbyte)entry.Source,
                entry.ReadOnly,
                entry.Sensitive,
                (sbyte)entry.Type,
                entry.Synonyms.Select(s => (s.Name, s.Value, (sbyte)s.Source)).ToArray());
        }
    }

    /// <summary>The settings handlers read on every request, taken once from the configuration.</summary>
    public static BrokerSettings ToSettings(BrokerConfig config, IReadOnlyDictionary<string, string> properties) => new()
    {
        NodeId = config.NodeId,
        Rack = config.GetRaw("broker.rack"),
        AutoCreateTopicsEnable = config.AutoCreateTopicsEnable,
        NumPartitions = config.NumPartitions,
        DefaultReplicationFactor = config.DefaultReplicationFactor,
        DeleteTopicEnable = config.DeleteTopicEnable,
        OffsetsTopicNumPartitions = config.OffsetsTopicNumPartitions,
        OffsetsTopicReplicationFactor = config.OffsetsTopicReplicationFactor,
        TransactionStateLogNumPartitions = config.TransactionStateLogNumPartitions,
        TransactionStateLogReplicationFactor = config.TransactionStateLogReplicationFactor,
        TransactionStateLogMinIsr = config.TransactionStateLogMinIsr,
        Properties = properties,
    };
}
