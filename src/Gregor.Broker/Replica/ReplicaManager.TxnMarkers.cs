using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Appends a commit or abort marker (a control batch) for <paramref name="producerId"/> as the
    /// partition leader, as a WriteTxnMarkers request from the transaction coordinator would.
    /// </summary>
    public ErrorCode WriteTxnMarker(string topic, int partitionIndex, long producerId, short producerEpoch, int coordinatorEpoch, bool commit)
    {
        var partition = GetPartition(topic, partitionIndex);
        if (partition is null || partition.IsDeleted)
        {
            return ErrorCode.UnknownTopicOrPartition;
        }

        if (!partition.IsLeader)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        var marker = RecordBatchBuilder.BuildControlBatch(commit ? ControlRecordType.Commit : ControlRecordType.Abort,
            producerId, producerEpoch, coordinatorEpoch, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        LogAppendInfo info;
        try
        {
            info = partition.Log.Append(marker, partition.LeaderEpoch, AppendOrigin.Coordinator);
        }
        catch (IOException e)
        {
            BrokerLog.AppendIoFailed(_logger, e, topic, partitionIndex);
            return ErrorCode.KafkaStorageError;
        }

        if (info.Error == ErrorCode.None)
        {
            AdvanceHighWatermark(partition, marker.Length);
        }

        return info.Error;
    }
}
