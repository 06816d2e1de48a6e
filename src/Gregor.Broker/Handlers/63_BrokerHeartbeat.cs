// BrokerHeartbeat v0-1 (controller side, KIP-631): keeps a broker's session alive, unfences it once
// its metadata caught up, and carries controlled shutdown (WantShutDown until ShouldShutDown).
// NOT_CONTROLLER unless this node is the active controller; not listed in ApiVersions.
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.BrokerHeartbeat, 0, 1)]
public sealed class BrokerHeartbeatHandler : ApiHandler<BrokerHeartbeatRequest>
{
    private readonly ControllerChannel? _controller;

    public BrokerHeartbeatHandler(ControllerChannel? controller)
    {
        _controller = controller;
    }

    public override bool Advertised => false;

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, BrokerHeartbeatRequest request, CancellationToken cancellationToken)
    {
        if (_controller is not { IsActive: true })
        {
            return new BrokerHeartbeatResponse { ErrorCode = (short)ErrorCode.NotController, IsFenced = true };
        }

        var result = await _controller.Controller.BrokerHeartbeatAsync(
            request.BrokerId, request.BrokerEpoch, request.CurrentMetadataOffset, request.WantFence, request.WantShutDown, cancellationToken).ConfigureAwait(false);
        return new BrokerHeartbeatResponse
        {
            ErrorCode = (short)result.ErrorCode,
            IsCaughtUp = result.IsCaughtUp,
            IsFenced = result.IsFenced,
            ShouldShutDown = result.ShouldShutDown,
        };
    }
}
