// DescribeCluster v0-1 (KIP-700, KIP-919). A broker describes brokers; asking it for controllers
// (endpoint type 2, v1) gets MISMATCHED_ENDPOINT_TYPE, as Kafka answers on a broker listener.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DescribeCluster, 0, 1)]
public sealed class DescribeClusterHandler : ApiHandler<DescribeClusterRequest>
{
    private const sbyte BrokerEndpointType = 1;

    private readonly BrokerContext _broker;

    public DescribeClusterHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DescribeClusterRequest request, CancellationToken cancellationToken)
    {
        var metadata = _broker.Metadata;
        var response = new DescribeClusterResponse
        {
            ClusterId = metadata.ClusterId,
            ControllerId = metadata.ControllerId,
            EndpointType = request.EndpointType,
            ClusterAuthorizedOperations = request.IncludeClusterAuthorizedOperations
                ? MetadataHandler.AllClusterOperations
                : MetadataHandler.AuthorizedOperationsOmitted,
        };

        if (context.ApiVersion >= 1 && request.EndpointType != BrokerEndpointType)
        {
            response.ErrorCode = (short)ErrorCode.MismatchedEndpointType;
            response.ErrorMessage = "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type " +
                (request.EndpointType == 2 ? "CONTROLLER" : "UNKNOWN");
            return Respond(response);
        }

        foreach (var broker in metadata.AliveBrokers)
        {
            var endpoint = broker.EndpointFor(context.Connection.ListenerName) ?? (broker.Endpoints.Count > 0 ? broker.Endpoints[0] : null);
            if (endpoint is null)
            {
                continue;
            }

            response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker
            {
                BrokerId = broker.NodeId,
                Host = endpoint.Host,
                Port = endpoint.Port,
                Rack = broker.Rack,
            });
        }

        return Respond(response);
    }
}
