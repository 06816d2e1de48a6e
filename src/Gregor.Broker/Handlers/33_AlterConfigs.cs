// AlterConfigs v0-2 (v2 flexible). The legacy, non-incremental alter: a topic's overrides become
// exactly the given entries (configs not listed return to their defaults). Persisted in the topic
// metadata and applied live. Broker configs are read-only in Gregor (INVALID_REQUEST).
using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.AlterConfigs, 0, 2)]
public sealed class AlterConfigsHandler : ApiHandler<AlterConfigsRequest>
{
    private readonly TopicConfigAlterations _alterations;

    public AlterConfigsHandler(BrokerContext broker)
    {
        _alterations = new TopicConfigAlterations(broker);
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AlterConfigsRequest request, CancellationToken cancellationToken)
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
