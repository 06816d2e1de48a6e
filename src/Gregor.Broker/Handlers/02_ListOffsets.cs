// ListOffsets v1-10 (v0's "old style offsets" list is not served). Earliest (-2), latest (-1),
// max timestamp (-3, KIP-734, v7+), earliest local (-4) and latest tiered (-5) specs, and
// timestamps through the time index. Leader epochs are checked and returned (v4+). Consumers
// (replica id -1) see at most the high watermark; brokers and debugging tools (-2) the log end.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ListOffsets, 1, 10)]
public sealed class ListOffsetsHandler : ApiHandler<ListOffsetsRequest>
{
    private readonly BrokerContext _broker;

    public ListOffsetsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListOffsetsResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            var seen = new HashSet<int>();
            foreach (var partition in topic.Partitions)
            {
                var partitionResponse = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = partition.PartitionIndex };
                if (!seen.Add(partition.PartitionIndex))
                {
                    // Kafka refuses a partition listed twice in one request.
                    partitionResponse.ErrorCode = (short)ErrorCode.InvalidRequest;
                }
                else
                {
                    var result = _broker.ReplicaManager.FetchOffsetForTimestamp(
                        topic.Name, partition.PartitionIndex, partition.Timestamp, request.IsolationLevel, partition.CurrentLeaderEpoch, request.ReplicaId);
                    partitionResponse.ErrorCode = (short)result.ErrorCode;
                    partitionResponse.Timestamp = result.Timestamp;
                    partitionResponse.Offset = result.Offset;
                    if (context.ApiVersion >= 4)
                    {
                        partitionResponse.LeaderEpoch = result.LeaderEpoch;
                    }
                }

                topicResponse.Partitions.Add(partitionResponse);
            }
        }

        return Respond(response);
    }
}
