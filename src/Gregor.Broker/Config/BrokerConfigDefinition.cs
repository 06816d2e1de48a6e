namespace Gregor.Broker.Config;

/// <summary>
/// One broker config key: Kafka's name, type and default (Gregor's default where it differs on
/// purpose), its valid range and its synonyms.
/// </summary>
public sealed record BrokerConfigDefinition(string Name, ConfigType Type, string? DefaultValue)
{
    /// <summary>Sensitive values (passwords, JAAS configs) are never reported by DescribeConfigs.</summary>
    public bool Sensitive => Type == ConfigType.Password;

    /// <summary>
    /// Whether the config can only be changed by restarting the broker. Every broker config is
    /// read-only until Gregor supports dynamic broker configs (IncrementalAlterConfigs on BROKER).
    /// </summary>
    public bool ReadOnly { get; init; } = true;

    public long? Min { get; init; }

    public long? Max { get; init; }

    public double? MinDouble { get; init; }

    public double? MaxDouble { get; init; }

    /// <summary>For strings and lists: the allowed values (compared case-insensitively).</summary>
    public IReadOnlyList<string>? ValidValues { get; init; }

    /// <summary>
    /// Lower-precedence names that set the same thing, in order (<c>log.roll.hours</c> for
    /// <c>log.roll.ms</c>), each with the factor that converts its value to this config's unit.
    /// </summary>
    public IReadOnlyList<ConfigSynonymDefinition> Synonyms { get; init; } = [];
}

/// <summary>A lower-precedence synonym and the factor converting its value to the main config's unit (1 for a plain alias).</summary>
public sealed record ConfigSynonymDefinition(string Name, long Multiplier = 1);
