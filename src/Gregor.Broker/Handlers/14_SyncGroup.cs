// SyncGroup v0-5: the leader's assignment is stored and handed to every member; followers wait
// for it. v3+ static membership, v5 protocol type and name checked and echoed (KIP-559).
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.SyncGroup, 0, 5)]
public sealed class SyncGroupHandler : ApiHandler<SyncGroupRequest>
{
    private readonly BrokerContext _broker;

    public SyncGroupHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, SyncGroupRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var input = new SyncGroupInput(
            request.GroupId,
            request.GenerationId,
            request.MemberId,
            version >= 3 ? request.GroupInstanceId : null,
            version >= 5 ? request.ProtocolType : null,
            version >= 5 ? request.ProtocolName : null,
            [.. request.Assignments.Select(a => new SyncGroupAssignment(a.MemberId, a.Assignment))]);
        var result = await _broker.Groups.Coordinator.SyncGroupAsync(input, cancellationToken).ConfigureAwait(false);
        return new SyncGroupResponse
        {
            ErrorCode = (short)result.Error,
            ProtocolType = result.ProtocolType,
            ProtocolName = result.ProtocolName,
            Assignment = result.Assignment,
        };
    }
}
