using System.Globalization;
using Gregor.Protocol;
using Gregor.Storage;

namespace Gregor.Broker.Metadata;

/// <summary>Kafka's incremental config operations (IncrementalAlterConfigs' ConfigOperation).</summary>
public enum AlterConfigOp : sbyte
{
    Set = 0,
    Delete = 1,
    Append = 2,
    Subtract = 3,
}

/// <summary>The outcome of altering one config resource.</summary>
public readonly record struct AlterConfigResult(ErrorCode ErrorCode, string? ErrorMessage)
{
    public static AlterConfigResult Ok { get; } = new(ErrorCode.None, null);
}

/// <summary>
/// AlterConfigs and IncrementalAlterConfigs on topics and brokers: validation as Kafka does it,
/// then the new topic overrides are persisted through the metadata writer, which the replica
/// manager applies to the live logs (a retention change takes effect without a restart).
/// </summary>
public sealed class TopicConfigAlterations
{
    public const sbyte TopicResource = 2;
    public const sbyte BrokerResource = 4;

    private readonly BrokerContext _broker;

    public TopicConfigAlterations(BrokerContext broker)
    {
        _broker = broker;
    }

    /// <summary>AlterConfigs: the given entries become the topic's complete set of overrides.</summary>
    public AlterConfigResult Replace(sbyte resourceType, string resourceName, IReadOnlyList<(string Name, string? Value)> configs, bool validateOnly)
    {
        var duplicate = configs.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return new(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {duplicate.Key}");
        }

        foreach (var (name, value) in configs)
        {
            if (value is null)
            {
                return new(ErrorCode.InvalidRequest, $"Null value not supported for : {name}");
            }
        }

        if (resourceType == BrokerResource)
        {
            return AlterBroker(resourceName, configs.Select(c => c.Name).ToList());
        }

        if (resourceType != TopicResource)
        {
            return new(ErrorCode.InvalidRequest, $"Unsupported resource type {resourceType}.");
        }

        var error = CheckTopic(resourceName, out _);
        if (error is { } e)
        {
            return e;
        }

        var notes = new List<string>();
        Dictionary<string, string> overrides;
        try
        {
            overrides = RemovedTopicConfigs.TranslateAll(configs.ToDictionary(c => c.Name, c => c.Value!, StringComparer.Ordinal), notes);
        }
        catch (InvalidConfigException invalid)
        {
            return new(ErrorCode.InvalidConfig, invalid.Message);
        }

        return Commit(resourceName, overrides, validateOnly, notes);
    }

    /// <summary>IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on the current overrides.</summary>
    public AlterConfigResult Incremental(sbyte resourceType, string resourceName, IReadOnlyList<(string Name, sbyte Operation, string? Value)> configs, bool validateOnly)
    {
        var duplicate = configs.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return new(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {duplicate.Key}");
        }

        foreach (var (name, operation, value) in configs)
        {
            if (operation is < (sbyte)AlterConfigOp.Set or > (sbyte)AlterConfigOp.Subtract)
            {
                return new(ErrorCode.InvalidRequest, $"Unknown alter config operation {operation} for {name}.");
            }

            if (value is null && operation != (sbyte)AlterConfigOp.Delete)
            {
                return new(ErrorCode.InvalidRequest, $"Null value not supported for : {name}");
            }
        }

        if (resourceType == BrokerResource)
        {
            return AlterBroker(resourceName, configs.Select(c => c.Name).ToList());
        }

        if (resourceType != TopicResource)
        {
            return new(ErrorCode.InvalidRequest, $"Unsupported resource type {resourceType}.");
        }

        var error = CheckTopic(resourceName, out var topic);
        if (error is { } e)
        {
            return e;
        }

        // Configs Kafka 4.0 removed become what RemovedTopicConfigs makes of them; they are not lists,
        // so APPEND and SUBTRACT fail as on any scalar config.
        var notes = new List<string>();
        var operations = new List<(string Name, sbyte Operation, string? Value)>(configs.Count);
        var names = configs.Select(c => c.Name).ToList();
        foreach (var config in configs)
        {
            if (!RemovedTopicConfigs.IsRemoved(config.Name) || config.Operation > (sbyte)AlterConfigOp.Delete)
            {
                operations.Add(config);
                continue;
            }

            try
            {
                operations.AddRange(RemovedTopicConfigs.Translate(config.Name, config.Operation == (sbyte)AlterConfigOp.Set, config.Value, names, notes)
                    .Select(m => (m.Key, (sbyte)AlterConfigOp.Set, (string?)m.Value)));
            }
            catch (InvalidConfigException invalid)
            {
                return new(ErrorCode.InvalidConfig, invalid.Message);
            }
        }

        var overrides = new Dictionary<string, string>(topic!.Configs, StringComparer.Ordinal);
        foreach (var (name, operation, value) in operations)
        {
            if (!LogConfig.DefinitionsByName.TryGetValue(name, out var definition))
            {
                if (RemovedTopicConfigs.IsRemoved(name))
                {
                    var verb = operation == (sbyte)AlterConfigOp.Append ? "append" : "subtract";
                    return new(ErrorCode.InvalidConfig, $"Config value {verb} is not allowed for config key: {name}");
                }

                return new(ErrorCode.InvalidConfig, $"Unknown topic config name: {name}");
            }

            switch ((AlterConfigOp)operation)
            {
                case AlterConfigOp.Set:
                    overrides[name] = value!;
                    break;
                case AlterConfigOp.Delete:
                    overrides.Remove(name);
                    break;
                default:
                    if (definition.Type != ConfigType.List)
                    {
                        var verb = operation == (sbyte)AlterConfigOp.Append ? "append" : "subtract";
                        return new(ErrorCode.InvalidConfig, $"Config value {verb} is not allowed for config key: {name}");
                    }

                    // Kafka starts from the override, else the config's own default (not the broker's).
                    var current = overrides.TryGetValue(name, out var v) ? v : definition.Default;
                    var list = SplitList(current);
                    var items = SplitList(value!);
                    list = operation == (sbyte)AlterConfigOp.Append
                        ? [.. list, .. items.Where(i => !list.Contains(i, StringComparer.Ordinal))]
                        : list.Where(i => !items.Contains(i, StringComparer.Ordinal)).ToList();
                    overrides[name] = string.Join(',', list);
                    break;
            }
        }

        return Commit(resourceName, overrides, validateOnly, notes);
    }

    private static List<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    private AlterConfigResult? CheckTopic(string name, out TopicMetadata? topic)
    {
        topic = null;
        var invalid = TopicNames.Validate(name);
        if (invalid is not null)
        {
            return new AlterConfigResult(ErrorCode.InvalidTopicException, invalid);
        }

        if (!_broker.Metadata.TryGetTopic(name, out var found))
        {
            return new AlterConfigResult(ErrorCode.UnknownTopicOrPartition, $"Topic '{name}' does not exist.");
        }

        topic = found;
        return null;
    }

    private AlterConfigResult Commit(string topic, Dictionary<string, string> overrides, bool validateOnly, List<string> notes)
    {
        foreach (var note in notes)
        {
            BrokerLog.RemovedTopicConfig(_broker.Logger, topic, note);
        }

        foreach (var (name, value) in overrides)
        {
            var problem = LogConfig.Validate(name, value);
            if (problem is not null)
            {
                return new(ErrorCode.InvalidConfig, $"Invalid value {value} for configuration {name}: {problem}");
            }
        }

        try
        {
            LogConfig.Create(_broker.Settings.Properties, overrides);
        }
        catch (InvalidConfigException e)
        {
            return new(ErrorCode.InvalidConfig, e.Message);
        }

        if (validateOnly)
        {
            return AlterConfigResult.Ok;
        }

        try
        {
            _broker.TopicWriter.AlterTopicConfigs(topic, overrides);
        }
        catch (TopicMetadataException e)
        {
            return new(e.ErrorCode, e.Message);
        }

        return AlterConfigResult.Ok;
    }

    // Gregor has no dynamic broker configs yet: every broker config is read-only, which Kafka answers
    // with INVALID_REQUEST (its validation failures map there, see KAFKA-13609).
    private AlterConfigResult AlterBroker(string resourceName, IReadOnlyList<string> names)
    {
        var nodeId = _broker.NodeId.ToString(CultureInfo.InvariantCulture);
        if (resourceName.Length != 0 && resourceName != nodeId)
        {
            return new(ErrorCode.InvalidRequest, $"Unexpected broker id, expected {nodeId} or empty string, but received {resourceName}");
        }

        if (names.Count == 0)
        {
            return AlterConfigResult.Ok;
        }

        return new(ErrorCode.InvalidRequest, $"Cannot update these configs dynamically: Set({string.Join(", ", names)})");
    }
}
