// DeleteGroups v0-2: deletes empty groups with their committed offsets (NON_EMPTY_GROUP while
// members remain, GROUP_ID_NOT_FOUND for unknown ones).
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DeleteGroups, 0, 2)]
public sealed class DeleteGroupsHandler : ApiHandler<DeleteGroupsRequest>
{
    private readonly BrokerContext _broker;

    public DeleteGroupsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken)
    {
        var results = await _broker.Groups.Coordinator.DeleteGroupsAsync(request.GroupsNames, cancellationToken).ConfigureAwait(false);
        var response = new DeleteGroupsResponse();
        foreach (var r in results)
        {
            response.Results.Add(new DeleteGroupsResponse.DeletableGroupResult { GroupId = r.GroupId, ErrorCode = (short)r.Error });
        }

        return response;
    }
}
