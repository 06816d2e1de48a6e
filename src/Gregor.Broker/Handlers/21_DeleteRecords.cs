// DeleteRecords v0-2 (v2 flexible). Moves each partition's log start offset (low watermark) to the
// given offset; -1 means the high watermark (Kafka's DeleteRecordsRequest.HIGH_WATERMARK). Whole
// segments below the new start are deleted; ListOffsets earliest and Fetch's log start offset follow.
// A topic whose cleanup.policy lacks "delete" answers POLICY_VIOLATION, as Kafka does.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DeleteRecords, 0, 2)]
public sealed class DeleteRecordsHandler : ApiHandler<DeleteRecordsRequest>
{
    private const long HighWatermarkOffset = -1;

    private readonly BrokerContext _broker;

    public DeleteRecordsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DeleteRecordsRequest request, CancellationToken cancellationToken)
    {
        var response = new DeleteRecordsResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(topicResult);
            foreach (var p in topic.Partitions)
            {
                var (error, low) = Delete(topic.Name, p.PartitionIndex, p.Offset);
                topicResult.Partitions.Add(new DeleteRecordsResponse.DeleteRecordsPartitionResult
                {
                    PartitionIndex = p.PartitionIndex,
                    LowWatermark = low,
                    ErrorCode = (short)error,
                });
            }
        }

        return Respond(response);
    }

    private (ErrorCode Error, long LowWatermark) Delete(string topic, int partitionIndex, long offset)
    {
        var partition = _broker.ReplicaManager.GetPartition(topic, partitionIndex);
        if (partition is null || partition.IsDeleted)
        {
            return (partition is null ? _broker.ReplicaManager.NoReplicaError(topic, partitionIndex) : ErrorCode.UnknownTopicOrPartition, -1);
        }

        if (!partition.IsLeader)
        {
            return (ErrorCode.NotLeaderOrFollower, -1);
        }

        var log = partition.Log;
        if (!log.Config.Delete)
        {
            // As Kafka: a purely compacted topic's records are only removed by the cleaner.
            return (ErrorCode.PolicyViolation, -1);
        }

        var target = offset == HighWatermarkOffset ? log.HighWatermark : offset;
        if (target < 0)
        {
            return (ErrorCode.OffsetOutOfRange, -1);
        }

        var error = log.DeleteRecordsBefore(target);
        return error == ErrorCode.None ? (ErrorCode.None, log.LogStartOffset) : (error, -1);
    }
}
