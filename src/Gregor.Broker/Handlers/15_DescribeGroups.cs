// DescribeGroups v0-5 (classic groups). Member metadata, assignment and protocol are shown only
// for a Stable group, as Kafka does; an unknown group (or a KIP-848 one) is reported Dead with no
// error, which is what these versions say. v3+ authorized operations, v4+ group instance ids.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DescribeGroups, 0, 5)]
public sealed class DescribeGroupsHandler : ApiHandler<DescribeGroupsRequest>
{
    // Every group operation (READ, DESCRIBE, DELETE) as a bitfield; there is no authorizer yet.
    private const int AllGroupOperations = (1 << 3) | (1 << 8) | (1 << 6);
    private const int AuthorizedOperationsOmitted = int.MinValue;

    private readonly BrokerContext _broker;

    public DescribeGroupsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeGroupsResponse();
        foreach (var group in _broker.Groups.Coordinator.DescribeGroups(request.Groups))
        {
            var error = group.Error == ErrorCode.GroupIdNotFound ? ErrorCode.None : group.Error;
            var described = new DescribeGroupsResponse.DescribedGroup
            {
                ErrorCode = (short)error,
                GroupId = group.GroupId,
                GroupState = group.GroupState,
                ProtocolType = group.ProtocolType,
                ProtocolData = group.ProtocolData,
                AuthorizedOperations = context.ApiVersion >= 3 && request.IncludeAuthorizedOperations ? AllGroupOperations : AuthorizedOperationsOmitted,
            };
            foreach (var m in group.Members)
            {
                described.Members.Add(new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    MemberMetadata = m.MemberMetadata,
                    MemberAssignment = m.MemberAssignment,
                });
            }

            response.Groups.Add(described);
        }

        return Respond(response);
    }
}
