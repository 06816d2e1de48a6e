// DescribeConfigs v1-4. Topics: every LogConfig value with its source (topic override, broker
// property, default), synonyms on request (v1+), config types (v3+). Brokers: the broker's own
// configuration. Documentation is always null. Broker loggers, groups and client metrics are not
// describable yet (INVALID_REQUEST).
using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Storage;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DescribeConfigs, 1, 4)]
public sealed class DescribeConfigsHandler : ApiHandler<DescribeConfigsRequest>
{
    public const sbyte TopicResource = 2;
    public const sbyte BrokerResource = 4;

    private readonly BrokerContext _broker;

    public DescribeConfigsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DescribeConfigsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorCode = (short)ErrorCode.None,
                ErrorMessage = null, // null on success, as Kafka sends it (the definition's default is "")
            };
            response.Results.Add(result);
            var keys = resource.ConfigurationKeys is { } list ? new HashSet<string>(list, StringComparer.Ordinal) : null;
            switch (resource.ResourceType)
            {
                case TopicResource:
                    DescribeTopic(result, resource.ResourceName, keys, request.IncludeSynonyms);
                    break;
                case BrokerResource:
                    DescribeBroker(result, resource.ResourceName, keys, request.IncludeSynonyms);
                    break;
                default:
                    result.ErrorCode = (short)ErrorCode.InvalidRequest;
                    result.ErrorMessage = $"Unsupported resource type {resource.ResourceType}.";
                    break;
            }
        }

        return Respond(response);
    }

    private void DescribeTopic(DescribeConfigsResponse.DescribeConfigsResult result, string name, HashSet<string>? keys, bool includeSynonyms)
    {
        var invalid = TopicNames.Validate(name);
        if (invalid is not null)
        {
            result.ErrorCode = (short)ErrorCode.InvalidTopicException;
            result.ErrorMessage = invalid;
            return;
        }

        if (!_broker.Metadata.TryGetTopic(name, out var topic))
        {
            result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
            result.ErrorMessage = $"Topic '{name}' does not exist.";
            return;
        }

        var properties = _broker.Settings.Properties;
        var config = LogConfig.Create(properties, topic.Configs);
        foreach (var entry in config.Entries)
        {
            if (keys is not null && !keys.Contains(entry.Name))
            {
                continue;
            }

            var described = new DescribeConfigsResponse.DescribeConfigsResourceResult
            {
                Name = entry.Name,
                Value = entry.Value,
                ReadOnly = false,
                ConfigSource = ConfigSources.ToWire(entry.Source),
                IsSensitive = false,
                ConfigType = ConfigSources.ToWire(entry.Type),
                Documentation = null,
            };
            if (includeSynonyms)
            {
                AddTopicSynonyms(described, entry, topic, properties);
            }

            result.Configs.Add(described);
        }
    }

    // Kafka lists the synonyms in precedence order: the topic override, then each broker property
    // that would supply the value, then the default (named after the broker property, as Kafka does).
    private static void AddTopicSynonyms(DescribeConfigsResponse.DescribeConfigsResourceResult described, ConfigEntry entry, TopicMetadata topic, IReadOnlyDictionary<string, string> properties)
    {
        var definition = LogConfig.DefinitionsByName[entry.Name];
        if (topic.Configs.TryGetValue(entry.Name, out var overridden))
        {
            described.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym
            {
                Name = entry.Name,
                Value = overridden,
                Source = ConfigSources.DynamicTopicConfig,
            });
        }

        foreach (var synonym in definition.BrokerSynonyms)
        {
            if (properties.TryGetValue(synonym.Name, out var value))
            {
                described.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym
                {
                    Name = synonym.Name,
                    Value = value,
                    Source = ConfigSources.StaticBrokerConfig,
                });
            }
        }

        described.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym
        {
            Name = definition.BrokerSynonyms.Count > 0 ? definition.BrokerSynonyms[0].Name : entry.Name,
            Value = definition.Default,
            Source = ConfigSources.DefaultConfig,
        });
    }

    private void DescribeBroker(DescribeConfigsResponse.DescribeConfigsResult result, string name, HashSet<string>? keys, bool includeSynonyms)
    {
        var nodeId = _broker.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (name.Length != 0 && name != nodeId)
        {
            result.ErrorCode = (short)ErrorCode.InvalidRequest;
            result.ErrorMessage = $"Unexpected broker id, expected {nodeId} or empty string, but received {name}";
            return;
        }

        if (_broker.BrokerConfigDescriber is not { } describer)
        {
            return;
        }

        foreach (var config in describer.Describe(keys))
        {
            var described = new DescribeConfigsResponse.DescribeConfigsResourceResult
            {
                Name = config.Name,
                Value = config.IsSensitive ? null : config.Value,
                ReadOnly = config.ReadOnly,
                ConfigSource = config.Source,
                IsSensitive = config.IsSensitive,
                ConfigType = config.ConfigType,
                Documentation = null,
            };
            if (includeSynonyms)
            {
                foreach (var (synonymName, value, source) in config.Synonyms)
                {
                    described.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym
                    {
                        Name = synonymName,
                        Value = config.IsSensitive ? null : value,
                        Source = source,
                    });
                }
            }

            result.Configs.Add(described);
        }
    }
}
