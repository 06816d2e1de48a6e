namespace Gregor.Broker.Config;

/// <summary>A config's value type: Kafka's DescribeConfigs ConfigType numbers (v3+). Persisted on the wire: never renumber.</summary>
public enum ConfigType : sbyte
{
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}
