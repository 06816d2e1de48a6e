// OffsetForLeaderEpoch v0-4 (v0-1 deprecated but served): the leader answers from its leader
// epoch cache; followers use it to truncate a divergent tail before fetching (KIP-101/279),
// consumers after a leader change (KIP-320). Replica id from v3 (not needed to answer).
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.OffsetForLeaderEpoch, 0, 4)]
public sealed class OffsetForLeaderEpochHandler : ApiHandler<OffsetForLeaderEpochRequest>
{
    private readonly BrokerContext _broker;

    public OffsetForLeaderEpochHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetForLeaderEpochResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(topicResult);
            var known = _broker.Metadata.TryGetTopic(topic.Topic, out _);
            foreach (var partition in topic.Partitions)
            {
                var result = known
                    ? _broker.ReplicaManager.LastOffsetForLeaderEpoch(topic.Topic, partition.Partition, partition.CurrentLeaderEpoch, partition.LeaderEpoch)
                    : Replica.EpochEndOffsetResult.Error(ErrorCode.UnknownTopicOrPartition);
                topicResult.Partitions.Add(new OffsetForLeaderEpochResponse.EpochEndOffset
                {
                    ErrorCode = (short)result.ErrorCode,
                    Partition = partition.Partition,
                    LeaderEpoch = result.LeaderEpoch,
                    EndOffset = result.EndOffset,
                });
            }
        }

        return Respond(response);
    }
}
