// JoinGroup v0-9. v0 has no rebalance timeout (the session timeout stands in, as in Kafka); v4+
// members must first fetch a member id (MEMBER_ID_REQUIRED, KIP-394); v5+ static membership
// (KIP-345); v9 tells a static leader that rejoined a stable group to skip the assignment. The
// response is held until the rebalance completes.
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.JoinGroup, 0, 9)]
public sealed class JoinGroupHandler : ApiHandler<JoinGroupRequest>
{
    private readonly BrokerContext _broker;

    public JoinGroupHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var input = new JoinGroupInput(
            request.GroupId,
            request.MemberId,
            version >= 5 ? request.GroupInstanceId : null,
            request.ProtocolType,
            [.. request.Protocols.Select(p => new GroupProtocol(p.Name, p.Metadata))],
            request.SessionTimeoutMs,
            version >= 1 ? request.RebalanceTimeoutMs : request.SessionTimeoutMs,
            GroupHandlerHelpers.ClientId(context),
            GroupHandlerHelpers.ClientHost(context),
            RequireKnownMemberId: version >= 4,
            version >= 8 ? request.Reason : null);
        var result = await _broker.Groups.Coordinator.JoinGroupAsync(input, cancellationToken).ConfigureAwait(false);
        var response = new JoinGroupResponse
        {
            ErrorCode = (short)result.Error,
            GenerationId = result.GenerationId,
            ProtocolType = result.ProtocolType,

            // Before v7 the protocol name is not nullable.
            ProtocolName = version >= 7 ? result.ProtocolName : result.ProtocolName ?? string.Empty,
            Leader = result.LeaderId,
            // Before v9 a restarted static leader cannot be told to skip: it computes an assignment
            // that SyncGroup ignores while the group is stable (Kafka's behaviour before KIP-814).
            SkipAssignment = version >= 9 && result.SkipAssignment,
            MemberId = result.MemberId,
        };
        foreach (var member in result.Members)
        {
            response.Members.Add(new JoinGroupResponse.JoinGroupResponseMember
            {
                MemberId = member.MemberId,
                GroupInstanceId = member.GroupInstanceId,
                Metadata = member.Metadata,
            });
        }

        return response;
    }
}
