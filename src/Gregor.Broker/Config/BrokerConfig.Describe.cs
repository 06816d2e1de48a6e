namespace Gregor.Broker.Config;

public sealed partial class BrokerConfig
{
    /// <summary>
    /// The broker configs as DescribeConfigs reports them for a BROKER resource: every known key
    /// (or only <paramref name="names"/>; unknown names are skipped, as Kafka does), in table order.
    /// </summary>
    public IEnumerable<BrokerConfigEntry> Describe(IReadOnlyCollection<string>? names = null)
    {
        var wanted = names is null ? null : new HashSet<string>(names, StringComparer.Ordinal);
        foreach (var definition in BrokerConfigDefinitions.All)
        {
            if (wanted is not null && !wanted.Contains(definition.Name))
            {
                continue;
            }

            var (value, source) = _effective[definition.Name];
            yield return new BrokerConfigEntry(
                definition.Name,
                definition.Sensitive ? null : value,
                source,
                definition.ReadOnly,
                definition.Sensitive,
                definition.Type,
                Synonyms(definition));
        }
    }

    /// <summary>
    /// Kafka lists, in order of precedence, every name that has a value at some level: the config
    /// itself and then its synonyms, each as supplied (STATIC_BROKER_CONFIG) or as defaulted.
    /// </summary>
    private List<BrokerConfigSynonym> Synonyms(BrokerConfigDefinition definition)
    {
        var synonyms = new List<BrokerConfigSynonym>();
        var names = new List<string>(1 + definition.Synonyms.Count) { definition.Name };
        names.AddRange(definition.Synonyms.Select(s => s.Name));

        foreach (var name in names)
        {
            var sensitive = BrokerConfigDefinitions.ByName[name].Sensitive;
            if (_supplied.TryGetValue(name, out var supplied))
            {
                synonyms.Add(new BrokerConfigSynonym(name, sensitive ? null : supplied, ConfigSource.StaticBrokerConfig));
            }
        }

        foreach (var name in names)
        {
            var defaultValue = BrokerConfigDefinitions.ByName[name].DefaultValue;
            if (defaultValue is not null)
            {
                synonyms.Add(new BrokerConfigSynonym(name, defaultValue, ConfigSource.DefaultConfig));
            }
        }

        return synonyms;
    }
}
