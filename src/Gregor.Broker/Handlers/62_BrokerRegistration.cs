// BrokerRegistration v0-4 (controller side, KIP-631): a broker registers its incarnation id,
// listeners and rack with the active controller and gets its broker epoch. Gregor's controllers
// are also brokers and take these requests on the inter-broker listener; any other node answers
// NOT_CONTROLLER. Not listed in ApiVersions, as Kafka's brokers do not list it.
using Gregor.Broker.Cluster;
using Gregor.Metadata.Controller;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.BrokerRegistration, 0, 4)]
public sealed class BrokerRegistrationHandler : ApiHandler<BrokerRegistrationRequest>
{
    private readonly BrokerContext _broker;
    private readonly ControllerChannel? _controller;

    public BrokerRegistrationHandler(BrokerContext broker, ControllerChannel? controller)
    {
        _broker = broker;
        _controller = controller;
    }

    public override bool Advertised => false;

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, BrokerRegistrationRequest request, CancellationToken cancellationToken)
    {
        if (_controller is not { IsActive: true })
        {
            return new BrokerRegistrationResponse { ErrorCode = (short)ErrorCode.NotController };
        }

        if (!string.Equals(request.ClusterId, _broker.Metadata.ClusterId, StringComparison.Ordinal))
        {
            return new BrokerRegistrationResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId };
        }

        var data = new BrokerRegistrationRequestData(
            request.BrokerId,
            request.IncarnationId,
            [.. request.Listeners.Select(l => new Gregor.Metadata.Image.BrokerEndpoint(l.Name, l.Host, l.Port, l.SecurityProtocol))],
            request.Rack);
        var result = await _controller.Controller.RegisterBrokerAsync(data, cancellationToken).ConfigureAwait(false);
        return new BrokerRegistrationResponse { ErrorCode = (short)result.ErrorCode, BrokerEpoch = result.BrokerEpoch };
    }
}
