// Metadata v0-13. v0 asks for every topic with an empty list, v1+ with a null one; topic ids from
// v10 (UNKNOWN_TOPIC_ID). Unknown topics are auto-created when auto.create.topics.enable and the
// request allows it (always before v4). v13 (KIP-1102) only adds a top-level error code, always
// NONE here (its definitions run ahead of the Kafka 4.0 reference because librdkafka 2.16 sends v13).
using Gregor.Broker.Dispatch;
using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.Metadata, 0, 13)]
public sealed class MetadataHandler : ApiHandler<MetadataRequest>
{
    /// <summary>READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS: all a topic supports (no authorizer yet).</summary>
    public const int AllTopicOperations = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

    /// <summary>CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.</summary>
    public const int AllClusterOperations = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

    /// <summary>Kafka's "not requested" value for authorized operations fields.</summary>
    public const int AuthorizedOperationsOmitted = int.MinValue;

    private readonly BrokerContext _broker;

    public MetadataHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, MetadataRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var metadata = _broker.Metadata;
        var response = new MetadataResponse
        {
            ClusterId = metadata.ClusterId,
            ControllerId = metadata.ControllerId,
            ClusterAuthorizedOperations = version is >= 8 and <= 10 && request.IncludeClusterAuthorizedOperations
                ? AllClusterOperations
                : AuthorizedOperationsOmitted,
        };

        foreach (var broker in metadata.AliveBrokers)
        {
            var endpoint = broker.EndpointFor(context.Connection.ListenerName) ?? (broker.Endpoints.Count > 0 ? broker.Endpoints[0] : null);
            if (endpoint is null)
            {
                continue;
            }

            response.Brokers.Add(new MetadataResponse.MetadataResponseBroker
            {
                NodeId = broker.NodeId,
                Host = endpoint.Host,
                Port = endpoint.Port,
                Rack = broker.Rack,
            });
        }

        var includeOperations = version >= 8 && request.IncludeTopicAuthorizedOperations;
        var allTopics = request.Topics is null || (version == 0 && request.Topics.Count == 0);
        if (allTopics)
        {
            foreach (var topic in metadata.Topics.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                response.Topics.Add(Describe(topic, includeOperations));
            }

            return Respond(response);
        }

        // Before v4 the field does not exist and clients expect creation (Kafka's default true).
        var allowAutoCreation = version < 4 || request.AllowAutoTopicCreation;
        foreach (var requested in request.Topics!)
        {
            if (requested.Name is null)
            {
                if (metadata.TryGetTopic(requested.TopicId, out var byId))
                {
                    response.Topics.Add(Describe(byId, includeOperations));
                }
                else
                {
                    // The name is nullable only from v12; v10-11 clients get an empty one.
                    response.Topics.Add(Error(version >= 12 ? null : "", requested.TopicId, ErrorCode.UnknownTopicId));
                }

                continue;
            }

            if (metadata.TryGetTopic(requested.Name, out var topic))
            {
                response.Topics.Add(Describe(topic, includeOperations));
                continue;
            }

            response.Topics.Add(AutoCreate(context, requested.Name, allowAutoCreation, includeOperations));
        }

        return Respond(response);
    }

    private MetadataResponse.MetadataResponseTopic AutoCreate(RequestContext context, string name, bool allowAutoCreation, bool includeOperations)
    {
        if (TopicNames.Validate(name) is not null)
        {
            return Error(name, Uuid.Zero, ErrorCode.InvalidTopicException);
        }

        if (!allowAutoCreation || !_broker.Settings.AutoCreateTopicsEnable)
        {
            return Error(name, Uuid.Zero, ErrorCode.UnknownTopicOrPartition);
        }

        var (partitions, factor, configs) = InternalTopics.CreationSettings(_broker.Settings, name);
        var result = _broker.TopicCreator.Create(name, partitions, factor, null, configs, validateOnly: false);
        if (result.ErrorCode == ErrorCode.TopicAlreadyExists && _broker.Metadata.TryGetTopic(name, out var raced))
        {
            return Describe(raced, includeOperations);
        }

        if (result.ErrorCode != ErrorCode.None || result.Topic is null)
        {
            // Kafka reports a topic whose creation is under way or failed as LEADER_NOT_AVAILABLE.
            return Error(name, Uuid.Zero, result.ErrorCode == ErrorCode.InvalidReplicationFactor ? ErrorCode.InvalidReplicationFactor : ErrorCode.LeaderNotAvailable);
        }

        BrokerLog.TopicAutoCreated(_broker.Logger, name, "Metadata", context.ClientId);
        return Describe(result.Topic, includeOperations);
    }

    private static MetadataResponse.MetadataResponseTopic Describe(TopicMetadata topic, bool includeOperations)
    {
        var response = new MetadataResponse.MetadataResponseTopic
        {
            ErrorCode = (short)ErrorCode.None,
            Name = topic.Name,
            TopicId = topic.TopicId,
            IsInternal = topic.IsInternal,
            TopicAuthorizedOperations = includeOperations ? AllTopicOperations : AuthorizedOperationsOmitted,
        };
        foreach (var partition in topic.Partitions)
        {
            response.Partitions.Add(new MetadataResponse.MetadataResponsePartition
            {
                ErrorCode = (short)ErrorCode.None,
                PartitionIndex = partition.PartitionIndex,
                LeaderId = partition.LeaderId,
                LeaderEpoch = partition.LeaderEpoch,
                ReplicaNodes = [.. partition.Replicas],
                IsrNodes = [.. partition.Isr],
                OfflineReplicas = [],
            });
        }

        return response;
    }

    private static MetadataResponse.MetadataResponseTopic Error(string? name, Uuid topicId, ErrorCode error) => new()
    {
        ErrorCode = (short)error,
        Name = name,
        TopicId = topicId,
        IsInternal = name is not null && TopicNames.IsInternal(name),
        TopicAuthorizedOperations = AuthorizedOperationsOmitted,
    };
}
