// ConsumerGroupDescribe v0 (KIP-848): epochs, assignor, and each member's current and target
// assignment with topic names. Classic or unknown groups get GROUP_ID_NOT_FOUND.
using Gregor.Broker.Groups;
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ConsumerGroupDescribe, 0, 0)]
public sealed class ConsumerGroupDescribeHandler : ApiHandler<ConsumerGroupDescribeRequest>
{
    private const int AllGroupOperations = (1 << 3) | (1 << 8) | (1 << 6);
    private const int AuthorizedOperationsOmitted = int.MinValue;

    private readonly BrokerContext _broker;

    public ConsumerGroupDescribeHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    /// <summary>Kafka answers this API but leaves it out of ApiVersions when KIP-848 groups are disabled.</summary>
    public override bool Advertised => GroupCoordinatorBinding.IsConsumerProtocolEnabled(_broker.Settings.Properties);

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ConsumerGroupDescribeRequest request, CancellationToken cancellationToken)
    {
        var response = new ConsumerGroupDescribeResponse();
        foreach (var group in _broker.Groups.Coordinator.ConsumerGroupDescribe(request.GroupIds))
        {
            var described = new ConsumerGroupDescribeResponse.DescribedGroup
            {
                ErrorCode = (short)group.Error,
                ErrorMessage = group.ErrorMessage,
                GroupId = group.GroupId,
                GroupState = group.GroupState,
                GroupEpoch = group.GroupEpoch,
                AssignmentEpoch = group.AssignmentEpoch,
                AssignorName = group.AssignorName,
                AuthorizedOperations = request.IncludeAuthorizedOperations ? AllGroupOperations : AuthorizedOperationsOmitted,
            };
            foreach (var m in group.Members)
            {
                described.Members.Add(new ConsumerGroupDescribeResponse.Member
                {
                    MemberId = m.MemberId,
                    InstanceId = m.InstanceId,
                    RackId = m.RackId,
                    MemberEpoch = m.MemberEpoch,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    SubscribedTopicNames = [.. m.SubscribedTopicNames],
                    SubscribedTopicRegex = m.SubscribedTopicRegex,
                    Assignment = ToAssignment(m.Assignment),
                    TargetAssignment = ToAssignment(m.TargetAssignment),
                });
            }

            response.Groups.Add(described);
        }

        return Respond(response);
    }

    private static ConsumerGroupDescribeResponse.Assignment ToAssignment(IReadOnlyList<DescribedTopicPartitions> partitions)
    {
        var assignment = new ConsumerGroupDescribeResponse.Assignment();
        foreach (var t in partitions)
        {
            assignment.TopicPartitions.Add(new ConsumerGroupDescribeResponse.TopicPartitions { TopicId = t.TopicId, TopicName = t.TopicName, Partitions = [.. t.Partitions] });
        }

        return assignment;
    }
}
