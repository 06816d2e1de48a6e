// AlterPartition v0-3 (controller side, KIP-497): a partition leader proposes a new ISR based on
// its leader epoch and partition epoch; the active controller validates it, bumps the partition
// epoch and answers with the partition as it now stands. v0-1 name topics, v2+ use topic ids,
// v3 sends the ISR with broker epochs (KIP-903). NOT_CONTROLLER unless this node is the active
// controller; not listed in ApiVersions.
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.AlterPartition, 0, 3)]
public sealed class AlterPartitionHandler : ApiHandler<AlterPartitionRequest>
{
    private readonly ControllerChannel? _controller;

    public AlterPartitionHandler(ControllerChannel? controller)
    {
        _controller = controller;
    }

    public override bool Advertised => false;

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AlterPartitionRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (_controller is not { IsActive: true })
        {
            return new AlterPartitionResponse { ErrorCode = (short)ErrorCode.NotController };
        }

        var controller = _controller.Controller;
        var response = new AlterPartitionResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new AlterPartitionResponse.TopicData { TopicName = topic.TopicName, TopicId = topic.TopicId };
            response.Topics.Add(topicResult);
            var image = controller.Image;
            var topicId = topic.TopicId;
            if (version < 2)
            {
                topicId = image.TopicsByName.TryGetValue(topic.TopicName, out var byName) ? byName.Id : Uuid.Zero;
            }

            foreach (var partition in topic.Partitions)
            {
                var newIsr = version >= 3 ? partition.NewIsrWithEpochs.Select(b => b.BrokerId).ToList() : partition.NewIsr;
                var result = topicId.IsZero && version < 2
                    ? new Gregor.Metadata.Controller.AlterPartitionResult(ErrorCode.UnknownTopicOrPartition, null)
                    : await controller.AlterPartitionAsync(request.BrokerId, request.BrokerEpoch, topicId, partition.PartitionIndex,
                        partition.LeaderEpoch, partition.PartitionEpoch, newIsr, cancellationToken).ConfigureAwait(false);
                if (result.ErrorCode == ErrorCode.StaleBrokerEpoch)
                {
                    return new AlterPartitionResponse { ErrorCode = (short)ErrorCode.StaleBrokerEpoch };
                }

                var partitionResult = new AlterPartitionResponse.PartitionData { PartitionIndex = partition.PartitionIndex, ErrorCode = (short)result.ErrorCode };
                if (result.Partition is { } p)
                {
                    partitionResult.LeaderId = p.Leader;
                    partitionResult.LeaderEpoch = p.LeaderEpoch;
                    partitionResult.PartitionEpoch = p.PartitionEpoch;
                    partitionResult.Isr = [.. p.Isr];
                }
                else
                {
                    partitionResult.LeaderId = -1;
                    partitionResult.LeaderEpoch = -1;
                    partitionResult.PartitionEpoch = -1;
                }

                topicResult.Partitions.Add(partitionResult);
            }
        }

        return response;
    }
}
