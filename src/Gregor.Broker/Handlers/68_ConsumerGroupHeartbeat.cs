// ConsumerGroupHeartbeat v0-1 (KIP-848): join (epoch 0), heartbeat, leave (-1) and static leave
// (-2); assignments computed by the server-side uniform and range assignors. v1 (KIP-1082) has the
// client choose its member id. Regular-expression subscriptions are refused (INVALID_REQUEST).
using Gregor.Broker.Groups;
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ConsumerGroupHeartbeat, 0, 1)]
public sealed class ConsumerGroupHeartbeatHandler : ApiHandler<ConsumerGroupHeartbeatRequest>
{
    private readonly BrokerContext _broker;

    public ConsumerGroupHeartbeatHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    /// <summary>Kafka answers this API but leaves it out of ApiVersions when KIP-848 groups are disabled.</summary>
    public override bool Advertised => GroupCoordinatorBinding.IsConsumerProtocolEnabled(_broker.Settings.Properties);

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ConsumerGroupHeartbeatRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var input = new ConsumerGroupHeartbeatInput(
            request.GroupId,
            request.MemberId,
            request.MemberEpoch,
            request.InstanceId,
            request.RackId,
            request.RebalanceTimeoutMs,
            request.SubscribedTopicNames,
            version >= 1 ? request.SubscribedTopicRegex : null,
            request.ServerAssignor,
            request.TopicPartitions?.Select(t => new TopicIdPartitions(t.TopicId, t.Partitions)).ToList(),
            GroupHandlerHelpers.ClientId(context),
            GroupHandlerHelpers.ClientHost(context),
            version);

        // The coordinator of the group must exist even if the client skipped FindCoordinator.
        var coordinatorError = await _broker.Groups.EnsureCoordinatorAsync(request.GroupId, cancellationToken).ConfigureAwait(false);
        var result = coordinatorError == ErrorCode.None
            ? await _broker.Groups.Coordinator.ConsumerGroupHeartbeatAsync(input, cancellationToken).ConfigureAwait(false)
            : ConsumerGroupHeartbeatResult.Failed(coordinatorError);
        var response = new ConsumerGroupHeartbeatResponse
        {
            ErrorCode = (short)result.Error,
            ErrorMessage = result.ErrorMessage,
            MemberId = result.MemberId,
            MemberEpoch = result.MemberEpoch,
            HeartbeatIntervalMs = result.HeartbeatIntervalMs,
        };
        if (result.Assignment is not null)
        {
            response.Assignment = new ConsumerGroupHeartbeatResponse.AssignmentData();
            foreach (var t in result.Assignment)
            {
                response.Assignment.TopicPartitions.Add(new ConsumerGroupHeartbeatResponse.TopicPartitions { TopicId = t.TopicId, Partitions = [.. t.Partitions] });
            }
        }

        return response;
    }
}
