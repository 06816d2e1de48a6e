// Heartbeat v0-4 (classic groups). v3+ static membership. REBALANCE_IN_PROGRESS tells a member to rejoin.
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.Heartbeat, 0, 4)]
public sealed class HeartbeatHandler : ApiHandler<HeartbeatRequest>
{
    private readonly BrokerContext _broker;

    public HeartbeatHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, HeartbeatRequest request, CancellationToken cancellationToken)
    {
        var input = new HeartbeatInput(request.GroupId, request.GenerationId, request.MemberId, context.ApiVersion >= 3 ? request.GroupInstanceId : null);
        var error = await _broker.Groups.Coordinator.HeartbeatAsync(input, cancellationToken).ConfigureAwait(false);
        return new HeartbeatResponse { ErrorCode = (short)error };
    }
}
