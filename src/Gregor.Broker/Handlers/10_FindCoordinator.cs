// FindCoordinator v0-6: one key (v0-3) or a batch of CoordinatorKeys (v4+, KIP-699). Key type 0
// (group) creates __consumer_offsets on first use, loads the group's partition and names this
// broker, its leader. Key type 1 (transactional id) names this broker too: on a single node it is
// every coordinator, and the transaction coordinator comes with its own handlers. In a cluster
// both name the leader of the key's partition of __consumer_offsets / __transaction_state. Advertising
// this API also matters to librdkafka: it enables LZ4 only when FindCoordinator is listed.
// Share groups (key type 2) are not supported yet (INVALID_REQUEST).
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.FindCoordinator, 0, 6)]
public sealed class FindCoordinatorHandler : ApiHandler<FindCoordinatorRequest>
{
    private const sbyte GroupKeyType = 0;
    private const sbyte TransactionKeyType = 1;

    private readonly BrokerContext _broker;

    public FindCoordinatorHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, FindCoordinatorRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new FindCoordinatorResponse();
        if (version >= 4)
        {
            foreach (var key in request.CoordinatorKeys)
            {
                var (error, message, node, host, port) = await FindAsync(context, key, request.KeyType, cancellationToken).ConfigureAwait(false);
                response.Coordinators.Add(new FindCoordinatorResponse.Coordinator
                {
                    Key = key,
                    ErrorCode = (short)error,
                    ErrorMessage = message,
                    NodeId = node,
                    Host = host,
                    Port = port,
                });
            }

            return response;
        }

        var single = await FindAsync(context, request.Key, version >= 1 ? request.KeyType : GroupKeyType, cancellationToken).ConfigureAwait(false);
        response.ErrorCode = (short)single.Error;
        response.ErrorMessage = version >= 1 ? single.Message : null;
        response.NodeId = single.NodeId;
        response.Host = single.Host;
        response.Port = single.Port;
        return response;
    }

    private async ValueTask<(ErrorCode Error, string? Message, int NodeId, string Host, int Port)> FindAsync(RequestContext context, string key, sbyte keyType, CancellationToken cancellationToken)
    {
        if (keyType is not (GroupKeyType or TransactionKeyType))
        {
            return (ErrorCode.InvalidRequest, $"Unsupported key type {keyType}.", -1, string.Empty, -1);
        }

        if (keyType == TransactionKeyType && string.IsNullOrEmpty(key))
        {
            return (ErrorCode.InvalidRequest, "The transactional id must not be empty.", -1, string.Empty, -1);
        }

        var coordinatorId = _broker.NodeId;
        if (keyType == GroupKeyType)
        {
            // In a cluster the group's coordinator is the leader of its __consumer_offsets partition.
            var leader = GroupPartitionLeader(key);
            if (leader is null or -1 || leader == _broker.NodeId)
            {
                var error = await _broker.Groups.EnsureCoordinatorAsync(key, cancellationToken).ConfigureAwait(false);
                if (error != ErrorCode.None)
                {
                    return (error, "The coordinator is not available.", -1, string.Empty, -1);
                }

                leader = GroupPartitionLeader(key);
            }

            if (leader is { } found && found != _broker.NodeId)
            {
                coordinatorId = found;
            }
        }
        else if (_broker.ReplicaManager.Replication is not null)
        {
            // In a cluster the transaction coordinator is the leader of the id's __transaction_state
            // partition (a lone node is every coordinator and keeps its own path).
            var leader = TransactionPartitionLeader(key);
            if (leader is null or -1)
            {
                return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", -1, string.Empty, -1);
            }

            coordinatorId = leader.Value;
        }

        var node = _broker.Metadata.AliveBrokers.FirstOrDefault(b => b.NodeId == coordinatorId);
        var endpoint = node?.EndpointFor(context.Connection.ListenerName) ?? (node is { Endpoints.Count: > 0 } ? node.Endpoints[0] : null);
        if (endpoint is null)
        {
            return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", -1, string.Empty, -1);
        }

        return (ErrorCode.None, null, coordinatorId, endpoint.Host, endpoint.Port);
    }

    /// <summary>Creates __transaction_state on first use (as Kafka does) and returns the id's partition leader.</summary>
    private int? TransactionPartitionLeader(string transactionalId)
    {
        if (!_broker.Metadata.TryGetTopic(Metadata.TopicNames.TransactionStateTopicName, out var topic))
        {
            var (partitions, factor, configs) = Metadata.InternalTopics.CreationSettings(_broker.Settings, Metadata.TopicNames.TransactionStateTopicName);
            _broker.TopicCreator.Create(Metadata.TopicNames.TransactionStateTopicName, partitions, factor, null, configs, validateOnly: false);
            if (!_broker.Metadata.TryGetTopic(Metadata.TopicNames.TransactionStateTopicName, out topic))
            {
                return null;
            }
        }

        var index = Transactions.ReplicaTransactionStateLog.PartitionFor(transactionalId, topic.Partitions.Count);
        return topic.Partitions[index].LeaderId;
    }

    private int? GroupPartitionLeader(string groupId)
    {
        if (!_broker.Metadata.TryGetTopic(Metadata.TopicNames.GroupMetadataTopicName, out var topic))
        {
            return null;
        }

        var index = _broker.Groups.Coordinator.PartitionFor(groupId);
        return index < topic.Partitions.Count ? topic.Partitions[index].LeaderId : null;
    }
}
