// ListGroups v0-5: every group this broker coordinates; v4+ filter by state (KIP-518), v5+ by
// type, classic or consumer (KIP-848).
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ListGroups, 0, 5)]
public sealed class ListGroupsHandler : ApiHandler<ListGroupsRequest>
{
    private readonly BrokerContext _broker;

    public ListGroupsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var result = _broker.Groups.Coordinator.ListGroups(version >= 4 ? request.StatesFilter : null, version >= 5 ? request.TypesFilter : null);
        var response = new ListGroupsResponse { ErrorCode = (short)result.Error };
        foreach (var group in result.Groups)
        {
            response.Groups.Add(new ListGroupsResponse.ListedGroup
            {
                GroupId = group.GroupId,
                ProtocolType = group.ProtocolType,
                GroupState = group.GroupState,
                GroupType = group.GroupType,
            });
        }

        return Respond(response);
    }
}
