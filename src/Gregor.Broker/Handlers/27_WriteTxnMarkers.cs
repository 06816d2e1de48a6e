// WriteTxnMarkers v0-1: a transaction coordinator (this broker's or another's) asks the partition
// leader to append COMMIT/ABORT control batches. Per partition, as Kafka: UNKNOWN_TOPIC_OR_PARTITION
// for a partition this broker does not have, NOT_LEADER_OR_FOLLOWER where it is not the leader,
// KAFKA_STORAGE_ERROR when the log write fails. A marker in a __consumer_offsets partition also
// completes the producer's TxnOffsetCommit offsets in the group coordinator. Not implemented:
// CLUSTER_ACTION authorization (no ACLs yet).
using Gregor.Broker.Transactions;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.WriteTxnMarkers, 0, 1)]
public sealed class WriteTxnMarkersHandler : ApiHandler<WriteTxnMarkersRequest>
{
    private readonly BrokerContext _broker;

    public WriteTxnMarkersHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, WriteTxnMarkersRequest request, CancellationToken cancellationToken)
    {
        var response = new WriteTxnMarkersResponse();
        foreach (var marker in request.Markers)
        {
            var entry = new TxnMarkerEntry(marker.ProducerId, marker.ProducerEpoch, marker.CoordinatorEpoch, marker.TransactionResult,
                [.. marker.Topics.SelectMany(t => t.PartitionIndexes.Select(p => (t.Name, p)))]);
            var results = LocalTxnMarkerChannel.Write(_broker.ReplicaManager, [entry]);
            response.Markers.Add(new WriteTxnMarkersResponse.WritableTxnMarkerResult
            {
                ProducerId = marker.ProducerId,
                Topics = marker.Topics.Select(t => new WriteTxnMarkersResponse.WritableTxnMarkerTopicResult
                {
                    Name = t.Name,
                    Partitions = t.PartitionIndexes.Select(p => new WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult
                    {
                        PartitionIndex = p,
                        ErrorCode = (short)results[(t.Name, p)],
                    }).ToList(),
                }).ToList(),
            });
        }

        return Respond(response);
    }
}
