// AlterConfigs v0-2 (v2 flexible). The legacy, non-incremental alter: a topic's overrides become
// exactly the given entries (configs not listed return to their defaults). Persisted in the topic
// metadata and applied live. Broker configs are read-only in Gregor (INVALID_REQUEST).
using Gregor.Broker.Metadata;
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.AlterConfigs, 0, 2)]
public sealed class AlterConfigsHandler : ApiHandler<AlterConfigsRequest>
{
    private const sbyte TopicResourceType = 2;

    private readonly ControllerChannel? _controller;
    private readonly TopicConfigAlterations _alterations;

    public AlterConfigsHandler(BrokerContext broker, ControllerChannel? controller = null)
    {
        _controller = controller;
        _alterations = new TopicConfigAlterations(broker);
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AlterConfigsRequest request, CancellationToken cancellationToken)
    {
        // Admin writes go to the active controller (Kafka's brokers forward them too).
        if (_controller is { IsActive: false } && request.Resources.All(r => r.ResourceType == TopicResourceType)
            && await _controller.TryForwardAsync<AlterConfigsResponse>(request, context.ApiVersion, cancellationToken).ConfigureAwait(false) is { } forwarded)
        {
            return forwarded;
        }

        if (_controller is not null)
        {
            // Placement and checks below read this node's image: let it hold every committed entry.
            await _controller.Controller.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        return await HandleLocally(context, request, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<IResponseMessage?> HandleLocally(RequestContext context, AlterConfigsRequest request, CancellationToken cancellationToken)
    {
        var response = new AlterConfigsResponse();
        var duplicates = request.Resources
            .GroupBy(r => (r.ResourceType, r.ResourceName))
            .Where(g => g.Count() > 1)
            .Select(g => g.Key)
            .ToHashSet();
        foreach (var resource in request.Resources)
        {
            var result = duplicates.Contains((resource.ResourceType, resource.ResourceName))
                ? new AlterConfigResult(ErrorCode.InvalidRequest, "Duplicate resource in the request.")
                : _alterations.Replace(resource.ResourceType, resource.ResourceName,
                    resource.Configs.Select(c => (c.Name, c.Value)).ToList(), request.ValidateOnly);
            response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ErrorCode = (short)result.ErrorCode,
                ErrorMessage = result.ErrorMessage,
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
            });
        }

        return Respond(response);
    }
}
