// FindCoordinator v0-6 (batched keys from v4, KIP-699). On a single node this broker is the
// coordinator for every group and transactional id, so it answers with itself; the group and
// transaction coordinators (and their internal topics) come with their own handlers. Advertising
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

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, FindCoordinatorRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new FindCoordinatorResponse();
        if (version < 4)
        {
            var (error, message, nodeId, host, port) = Lookup(context, request.Key, request.KeyType);
            response.ErrorCode = (short)error;
            response.ErrorMessage = version >= 1 ? message : null;
            response.NodeId = nodeId;
            response.Host = host;
            response.Port = port;
            return Respond(response);
        }

        foreach (var key in request.CoordinatorKeys)
        {
            var (error, message, nodeId, host, port) = Lookup(context, key, request.KeyType);
            response.Coordinators.Add(new FindCoordinatorResponse.Coordinator
            {
                Key = key,
                ErrorCode = (short)error,
                ErrorMessage = message,
                NodeId = nodeId,
                Host = host,
                Port = port,
            });
        }

        return Respond(response);
    }

    private (ErrorCode Error, string? Message, int NodeId, string Host, int Port) Lookup(RequestContext context, string key, sbyte keyType)
    {
        if (keyType is not (GroupKeyType or TransactionKeyType))
        {
            return (ErrorCode.InvalidRequest, $"Unsupported key type {keyType}.", -1, "", -1);
        }

        if (keyType == TransactionKeyType && string.IsNullOrEmpty(key))
        {
            return (ErrorCode.InvalidRequest, "The transactional id must not be empty.", -1, "", -1);
        }

        var self = _broker.Metadata.AliveBrokers.FirstOrDefault(b => b.NodeId == _broker.NodeId);
        var endpoint = self?.EndpointFor(context.Connection.ListenerName) ?? (self is { Endpoints.Count: > 0 } ? self.Endpoints[0] : null);
        if (endpoint is null)
        {
            return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", -1, "", -1);
        }

        return (ErrorCode.None, null, _broker.NodeId, endpoint.Host, endpoint.Port);
    }
}
