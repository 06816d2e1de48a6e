using Gregor.Protocol;
using Gregor.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Broker.Metadata;

/// <summary>The outcome of creating (or validating) one topic, as CreateTopics reports it.</summary>
public sealed record TopicCreationResult(
    ErrorCode ErrorCode,
    string? ErrorMessage,
    TopicMetadata? Topic,
    int NumPartitions,
    short ReplicationFactor,
    LogConfig? Config)
{
    public static TopicCreationResult Error(ErrorCode errorCode, string? message) => new(errorCode, message, null, -1, -1, null);
}

/// <summary>
/// Kafka's topic creation rules shared by CreateTopics and auto-creation (Metadata): defaults for
/// -1, partition and replication factor bounds, replica assignment checks, config validation
/// through <see cref="LogConfig"/>, name rules.
/// </summary>
public sealed class TopicCreator
{
    private readonly IMetadataView _metadata;
    private readonly ITopicMetadataWriter _writer;
    private readonly BrokerSettings _settings;
    private readonly ILogger _logger;

    public TopicCreator(IMetadataView metadata, ITopicMetadataWriter writer, BrokerSettings settings, ILogger? logger = null)
    {
        _metadata = metadata;
        _writer = writer;
        _settings = settings;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The configs with those Kafka 4.0 removed dropped or mapped (<see cref="RemovedTopicConfigs"/>), each change logged.</summary>
    private Dictionary<string, string> WithoutRemovedConfigs(string topic, Dictionary<string, string> overrides)
    {
        if (!overrides.Keys.Any(RemovedTopicConfigs.IsRemoved))
        {
            return overrides;
        }

        var notes = new List<string>();
        var translated = RemovedTopicConfigs.TranslateAll(overrides, notes);
        foreach (var note in notes)
        {
            BrokerLog.RemovedTopicConfig(_logger, topic, note);
        }

        return translated;
    }

    public TopicCreationResult Create(
        string name,
        int numPartitions,
        short replicationFactor,
        IReadOnlyDictionary<int, IReadOnlyList<int>>? assignments,
        IReadOnlyList<KeyValuePair<string, string?>> configs,
        bool validateOnly)
    {
        var invalidName = TopicNames.Validate(name);
        if (invalidName is not null)
        {
            return TopicCreationResult.Error(ErrorCode.InvalidTopicException, invalidName);
        }

        if (_metadata.TryGetTopic(name, out _))
        {
            return TopicCreationResult.Error(ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.");
        }

        var liveBrokers = _metadata.AliveBrokers.Select(b => b.NodeId).OrderBy(id => id).ToArray();
        if (liveBrokers.Length == 0)
        {
            liveBrokers = [_settings.NodeId];
        }

        List<IReadOnlyList<int>> replicaAssignment;
        if (assignments is { Count: > 0 })
        {
            if (numPartitions != -1 || replicationFactor != -1)
            {
                return TopicCreationResult.Error(ErrorCode.InvalidRequest,
                    "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
            }

            var error = CheckAssignment(assignments, liveBrokers, out replicaAssignment);
            if (error is not null)
            {
                return TopicCreationResult.Error(ErrorCode.InvalidReplicaAssignment, error);
            }
        }
        else
        {
            var partitions = numPartitions == -1 ? _settings.NumPartitions : numPartitions;
            var factor = replicationFactor == -1 ? _settings.DefaultReplicationFactor : replicationFactor;
            if (partitions <= 0)
            {
                return TopicCreationResult.Error(ErrorCode.InvalidPartitions,
                    "Number of partitions was set to an invalid non-positive value.");
            }

            if (factor <= 0)
            {
                return TopicCreationResult.Error(ErrorCode.InvalidReplicationFactor,
                    "Replication factor must be larger than 0, or -1 to use the default value.");
            }

            if (factor > liveBrokers.Length)
            {
                return TopicCreationResult.Error(ErrorCode.InvalidReplicationFactor,
                    $"Unable to replicate the partition {factor} time(s): The target replication factor of {factor} cannot be reached because only {liveBrokers.Length} broker(s) are registered.");
            }

            replicaAssignment = AssignReplicas(partitions, factor, liveBrokers);
        }

        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in configs)
        {
            if (value is null)
            {
                return TopicCreationResult.Error(ErrorCode.InvalidConfig, $"Null value not supported for topic configs: {key}");
            }

            if (!overrides.TryAdd(key, value))
            {
                return TopicCreationResult.Error(ErrorCode.InvalidRequest, $"Duplicate config key: {key}");
            }
        }

        LogConfig config;
        try
        {
            overrides = WithoutRemovedConfigs(name, overrides);
            config = LogConfig.Create(_settings.Properties, overrides);
        }
        catch (InvalidConfigException e)
        {
            return TopicCreationResult.Error(ErrorCode.InvalidConfig, e.Message);
        }

        var factorCreated = (short)replicaAssignment[0].Count;
        if (validateOnly)
        {
            return new TopicCreationResult(ErrorCode.None, null, null, replicaAssignment.Count, factorCreated, config);
        }

        try
        {
            var topic = _writer.CreateTopic(name, replicaAssignment, overrides);
            return new TopicCreationResult(ErrorCode.None, null, topic, replicaAssignment.Count, factorCreated, config);
        }
        catch (TopicMetadataException e)
        {
            return TopicCreationResult.Error(e.ErrorCode, e.Message);
        }
    }

    /// <summary>Kafka's round-robin placement (no racks): partition p starts at broker p mod n.</summary>
    private static List<IReadOnlyList<int>> AssignReplicas(int partitions, int factor, int[] brokers)
    {
        var result = new List<IReadOnlyList<int>>(partitions);
        for (var p = 0; p < partitions; p++)
        {
            var replicas = new int[factor];
            for (var r = 0; r < factor; r++)
            {
                replicas[r] = brokers[(p + r) % brokers.Length];
            }

            result.Add(replicas);
        }

        return result;
    }

    private static string? CheckAssignment(IReadOnlyDictionary<int, IReadOnlyList<int>> assignments, int[] liveBrokers, out List<IReadOnlyList<int>> replicaAssignment)
    {
        replicaAssignment = [];
        int? factor = null;
        for (var p = 0; p < assignments.Count; p++)
        {
            if (!assignments.TryGetValue(p, out var replicas))
            {
                return "Partitions should be 0-based and consecutive.";
            }

            if (replicas.Count == 0)
            {
                return $"The manual partition assignment includes an empty replica list for partition {p}.";
            }

            if (replicas.Distinct().Count() != replicas.Count)
            {
                return $"The manual partition assignment includes the broker {replicas.GroupBy(r => r).First(g => g.Count() > 1).Key} more than once for partition {p}.";
            }

            foreach (var broker in replicas)
            {
                if (Array.IndexOf(liveBrokers, broker) < 0)
                {
                    return $"The manual partition assignment includes broker {broker}, but no such broker is registered.";
                }
            }

            if (factor is not null && factor != replicas.Count)
            {
                return "All partitions should have the same number of replicas.";
            }

            factor = replicas.Count;
            replicaAssignment.Add(replicas.ToArray());
        }

        return null;
    }
}
