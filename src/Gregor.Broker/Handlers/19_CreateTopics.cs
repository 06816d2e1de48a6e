// CreateTopics v2-7. Validate-only (v1+), num partitions / replication factor -1 = broker defaults
// (v4+), manual replica assignments, configs validated through LogConfig; v5+ returns the resolved
// configs, partition count and replication factor, v7 the topic id. The timeout is not waited on:
// creation is complete when the topic metadata file is written.
using Gregor.Broker.Metadata;
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Storage;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.CreateTopics, 2, 7)]
public sealed class CreateTopicsHandler : ApiHandler<CreateTopicsRequest>
{
    private readonly ControllerChannel? _controller;
    private readonly BrokerContext _broker;

    public CreateTopicsHandler(BrokerContext broker, ControllerChannel? controller = null)
    {
        _controller = controller;
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, CreateTopicsRequest request, CancellationToken cancellationToken)
    {
        // Admin writes go to the active controller (Kafka's brokers forward them too).
        if (_controller is { IsActive: false } && true
            && await _controller.TryForwardAsync<CreateTopicsResponse>(request, context.ApiVersion, cancellationToken).ConfigureAwait(false) is { } forwarded)
        {
            // Clients often ask this broker about the new topics next: let its image catch up first.
            await _controller.WaitForMetadataAsync(
                image => forwarded.Topics.Where(t => t.ErrorCode == 0).All(t => image.TopicsByName.ContainsKey(t.Name)), cancellationToken).ConfigureAwait(false);
            return forwarded;
        }

        if (_controller is not null)
        {
            // Placement and checks below read this node's image: let it hold every committed entry.
            await _controller.Controller.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        return await HandleLocally(context, request, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<IResponseMessage?> HandleLocally(RequestContext context, CreateTopicsRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new CreateTopicsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var topic in request.Topics)
        {
            if (duplicates.Contains(topic.Name))
            {
                if (reported.Add(topic.Name))
                {
                    response.Topics.Add(ErrorResult(topic.Name, ErrorCode.InvalidRequest, "Create topics request from client contains a duplicate topic."));
                }

                continue;
            }

            Dictionary<int, IReadOnlyList<int>>? assignments = null;
            var duplicatePartition = false;
            if (topic.Assignments.Count > 0)
            {
                assignments = [];
                foreach (var assignment in topic.Assignments)
                {
                    duplicatePartition |= !assignments.TryAdd(assignment.PartitionIndex, assignment.BrokerIds);
                }
            }

            if (duplicatePartition)
            {
                response.Topics.Add(ErrorResult(topic.Name, ErrorCode.InvalidReplicaAssignment, "A partition was assigned more than once."));
                continue;
            }

            var configs = topic.Configs.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)).ToList();
            var result = _broker.TopicCreator.Create(topic.Name, topic.NumPartitions, topic.ReplicationFactor, assignments, configs, request.validateOnly);
            if (result.ErrorCode != ErrorCode.None)
            {
                response.Topics.Add(ErrorResult(topic.Name, result.ErrorCode, result.ErrorMessage));
                continue;
            }

            if (result.Topic is { } created)
            {
                BrokerLog.TopicCreated(_broker.Logger, created.Name, created.TopicId.ToString(), created.Partitions.Count, created.ReplicationFactor);
            }

            var topicResult = new CreateTopicsResponse.CreatableTopicResult
            {
                Name = topic.Name,
                TopicId = result.Topic?.TopicId ?? Uuid.Zero,
                ErrorCode = (short)ErrorCode.None,
                ErrorMessage = null, // null on success, as Kafka sends it (the definition's default is "")
                NumPartitions = result.NumPartitions,
                ReplicationFactor = result.ReplicationFactor,
            };
            if (version >= 5 && result.Config is { } config)
            {
                topicResult.Configs = [];
                foreach (var entry in config.Entries)
                {
                    topicResult.Configs.Add(new CreateTopicsResponse.CreatableTopicConfigs
                    {
                        Name = entry.Name,
                        Value = entry.Value,
                        ReadOnly = false,
                        ConfigSource = ConfigSources.ToWire(entry.Source),
                        IsSensitive = false,
                    });
                }
            }

            response.Topics.Add(topicResult);
        }

        return Respond(response);
    }

    private static CreateTopicsResponse.CreatableTopicResult ErrorResult(string name, ErrorCode error, string? message) => new()
    {
        Name = name,
        ErrorCode = (short)error,
        ErrorMessage = message,
        NumPartitions = -1,
        ReplicationFactor = -1,
        Configs = null,
    };
}

/// <summary>Kafka's DescribeConfigs/CreateTopics wire numbers for config sources and types.</summary>
public static class ConfigSources
{
    public const sbyte Unknown = 0;
    public const sbyte DynamicTopicConfig = 1;
    public const sbyte DynamicBrokerConfig = 2;
    public const sbyte DynamicDefaultBrokerConfig = 3;
    public const sbyte StaticBrokerConfig = 4;
    public const sbyte DefaultConfig = 5;
    public const sbyte DynamicBrokerLoggerConfig = 6;

    public static sbyte ToWire(ConfigSource source) => source switch
    {
        ConfigSource.Topic => DynamicTopicConfig,
        ConfigSource.Broker => StaticBrokerConfig,
        _ => DefaultConfig,
    };

    public static sbyte ToWire(ConfigType type) => type switch
    {
        ConfigType.Boolean => 1,
        ConfigType.String => 2,
        ConfigType.Int => 3,
        ConfigType.Long => 5,
        ConfigType.Double => 6,
        ConfigType.List => 7,
        _ => 0,
    };
}
