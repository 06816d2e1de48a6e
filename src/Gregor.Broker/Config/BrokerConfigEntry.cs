namespace Gregor.Broker.Config;

/// <summary>One broker config as DescribeConfigs reports it.</summary>
/// <param name="Value">The effective value; <c>null</c> for sensitive configs and for unset configs without a default.</param>
/// <param name="Synonyms">The names that can set this config, in order of precedence, each with its value where it has one (DescribeConfigs v1+).</param>
public sealed record BrokerConfigEntry(
    string Name,
    string? Value,
    ConfigSource Source,
    bool ReadOnly,
    bool Sensitive,
    ConfigType Type,
    IReadOnlyList<BrokerConfigSynonym> Synonyms)
{
    /// <summary>DescribeConfigs v0's IsDefault flag.</summary>
    public bool IsDefault => Source == ConfigSource.DefaultConfig;
}

/// <summary>One synonym of a config, e.g. <c>log.roll.hours</c> for <c>log.roll.ms</c>.</summary>
public sealed record BrokerConfigSynonym(string Name, string? Value, ConfigSource Source);
