namespace Gregor.Broker.Config;

/// <summary>Where a config value comes from: Kafka's DescribeConfigs ConfigSource numbers (v1+). Persisted on the wire: never renumber.</summary>
public enum ConfigSource : sbyte
{
    Unknown = 0,
    DynamicTopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
    DynamicBrokerLoggerConfig = 6,
    ClientMetricsConfig = 7,
    GroupConfig = 8,
}
