// AllocateProducerIds v0 (controller side, KIP-730): hands a broker the next block of producer ids
// from the metadata log, so producer ids stay unique across the cluster. NOT_CONTROLLER unless this
// node is the active controller; not listed in ApiVersions.
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.AllocateProducerIds, 0, 0)]
public sealed class AllocateProducerIdsHandler : ApiHandler<AllocateProducerIdsRequest>
{
    private readonly ControllerChannel? _controller;

    public AllocateProducerIdsHandler(ControllerChannel? controller)
    {
        _controller = controller;
    }

    public override bool Advertised => false;

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AllocateProducerIdsRequest request, CancellationToken cancellationToken)
    {
        if (_controller is not { IsActive: true })
        {
            return new AllocateProducerIdsResponse { ErrorCode = (short)ErrorCode.NotController, ProducerIdStart = -1 };
        }

        var block = await _controller.Controller.AllocateProducerIdsAsync(request.BrokerId, request.BrokerEpoch, cancellationToken).ConfigureAwait(false);
        return new AllocateProducerIdsResponse
        {
            ErrorCode = (short)block.ErrorCode,
            ProducerIdStart = block.FirstProducerId,
            ProducerIdLen = block.Size,
        };
    }
}
