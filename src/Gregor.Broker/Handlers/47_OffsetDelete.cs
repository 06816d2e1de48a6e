// OffsetDelete v0 (KIP-496): deletes a group's committed offsets of topics it no longer consumes
// (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.OffsetDelete, 0, 0)]
public sealed class OffsetDeleteHandler : ApiHandler<OffsetDeleteRequest>
{
    private readonly BrokerContext _broker;

    public OffsetDeleteHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken)
    {
        var input = new OffsetDeleteInput(request.GroupId, [.. request.Topics.Select(t => new OffsetFetchTopic(t.Name, [.. t.Partitions.Select(p => p.PartitionIndex)]))]);
        var result = await _broker.Groups.Coordinator.DeleteOffsetsAsync(input, cancellationToken).ConfigureAwait(false);
        var response = new OffsetDeleteResponse { ErrorCode = (short)result.Error };
        foreach (var byTopic in result.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal))
        {
            var topic = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = byTopic.Key };
            foreach (var p in byTopic)
            {
                topic.Partitions.Add(new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = p.Partition, ErrorCode = (short)p.Error });
            }

            response.Topics.Add(topic);
        }

        return response;
    }
}
