// LeaveGroup v0-5. v0-2 name one member; v3+ a batch of members, by member id or by static
// instance id alone (KIP-345 admin removal); v5 carries a reason per member.
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.LeaveGroup, 0, 5)]
public sealed class LeaveGroupHandler : ApiHandler<LeaveGroupRequest>
{
    private readonly BrokerContext _broker;

    public LeaveGroupHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, LeaveGroupRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        IReadOnlyList<LeaveGroupMember> members = version >= 3
            ? [.. request.Members.Select(m => new LeaveGroupMember(m.MemberId, m.GroupInstanceId, version >= 5 ? m.Reason : null))]
            : [new LeaveGroupMember(request.MemberId, null)];
        var result = await _broker.Groups.Coordinator.LeaveGroupAsync(new LeaveGroupInput(request.GroupId, members), cancellationToken).ConfigureAwait(false);
        var response = new LeaveGroupResponse { ErrorCode = (short)result.Error };
        if (version < 3)
        {
            // One member: its error is the request's error.
            if (result.Error == ErrorCode.None && result.Members.Count > 0)
            {
                response.ErrorCode = (short)result.Members[0].Error;
            }

            return response;
        }

        foreach (var member in result.Members)
        {
            response.Members.Add(new LeaveGroupResponse.MemberResponse
            {
                MemberId = member.MemberId,
                GroupInstanceId = member.GroupInstanceId,
                ErrorCode = (short)member.Error,
            });
        }

        return response;
    }
}
