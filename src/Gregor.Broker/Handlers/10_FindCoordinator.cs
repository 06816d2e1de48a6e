// FindCoordinator v0-6: one key (v0-3) or a batch of CoordinatorKeys (v4+, KIP-699). Key type 0
// (group) creates __consumer_offsets on first use and names this broker, the leader of the
// group's partition. Key type 1 (transactional id) answers COORDINATOR_NOT_AVAILABLE until the
// transaction coordinator exists.
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
        var response = new FindCoordinatorResponse();
        if (context.ApiVersion >= 4)
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

        var single = await FindAsync(context, request.Key, context.ApiVersion >= 1 ? request.KeyType : GroupKeyType, cancellationToken).ConfigureAwait(false);
        response.ErrorCode = (short)single.Error;
        response.ErrorMessage = single.Message;
        response.NodeId = single.NodeId;
        response.Host = single.Host;
        response.Port = single.Port;
        return response;
    }

    private async ValueTask<(ErrorCode Error, string? Message, int NodeId, string Host, int Port)> FindAsync(RequestContext context, string key, sbyte keyType, CancellationToken cancellationToken)
    {
        if (keyType == TransactionKeyType)
        {
            return (ErrorCode.CoordinatorNotAvailable, "The transaction coordinator is not available yet.", -1, string.Empty, -1);
        }

        if (keyType != GroupKeyType)
        {
            return (ErrorCode.InvalidRequest, $"Unknown coordinator key type {keyType}.", -1, string.Empty, -1);
        }

        var error = await _broker.Groups.EnsureCoordinatorAsync(key, cancellationToken).ConfigureAwait(false);
        var self = _broker.Metadata.AliveBrokers.FirstOrDefault(b => b.NodeId == _broker.NodeId);
        var endpoint = self?.EndpointFor(context.Connection.ListenerName) ?? (self is { Endpoints.Count: > 0 } ? self.Endpoints[0] : null);
        if (error != ErrorCode.None || endpoint is null)
        {
            return (error == ErrorCode.None ? ErrorCode.CoordinatorNotAvailable : error, null, -1, string.Empty, -1);
        }

        return (ErrorCode.None, null, _broker.NodeId, endpoint.Host, endpoint.Port);
    }
}
