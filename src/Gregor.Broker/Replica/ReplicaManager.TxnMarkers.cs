using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

/// <summary>A transaction marker appended by this broker as a partition leader.</summary>
public readonly record struct TxnMarkerAppended(string Topic, int Partition, long ProducerId, short ProducerEpoch, bool Commit);

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Raised after a COMMIT or ABORT marker is appended (whoever asked: the local transaction
    /// coordinator or a WriteTxnMarkers request). The group coordinator listens for the markers
    /// written to <c>__consumer_offsets</c> to materialise or drop transactional offsets, as
    /// Kafka's WriteTxnMarkers handler calls the group coordinator's onTransactionCompleted.
    /// </summary>
    public event Action<TxnMarkerAppended>? TxnMarkerWritten;

    /// <summary>
    /// Appends a commit or abort marker (a control batch) for <paramref name="producerId"/> as the
    /// partition leader, as a WriteTxnMarkers request from the transaction coordinator would.
    /// </summary>
    public ErrorCode WriteTxnMarker(string topic, int partitionIndex, long producerId, short producerEpoch, int coordinatorEpoch, bool commit)
    {
        var marker = RecordBatchBuilder.BuildControlBatch(commit ? ControlRecordType.Commit : ControlRecordType.Abort,
            producerId, producerEpoch, coordinatorEpoch, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        var (error, _) = AppendAsCoordinator(topic, partitionIndex, marker);
        if (error == ErrorCode.None)
        {
            TxnMarkerWritten?.Invoke(new TxnMarkerAppended(topic, partitionIndex, producerId, producerEpoch, commit));
        }

        return error;
    }

    /// <summary>
    /// Appends batches the broker built itself (Kafka's AppendOrigin.COORDINATOR: control batches,
    /// a group coordinator's transactional offset commits) as the partition leader: offsets are
    /// assigned, producer state and the last stable offset follow, the client-only checks are skipped.
    /// Returns the error and the last offset appended (-1 on error).
    /// </summary>
    public (ErrorCode Error, long LastOffset) AppendAsCoordinator(string topic, int partitionIndex, Memory<byte> records)
    {
        var partition = GetPartition(topic, partitionIndex);
        if (partition is null || partition.IsDeleted)
        {
            return (ErrorCode.UnknownTopicOrPartition, -1);
        }

        if (!partition.IsLeader)
        {
            return (ErrorCode.NotLeaderOrFollower, -1);
        }

        LogAppendInfo info;
        try
        {
            info = partition.Log.Append(records, partition.LeaderEpoch, AppendOrigin.Coordinator);
        }
        catch (IOException e)
        {
            BrokerLog.AppendIoFailed(_logger, e, topic, partitionIndex);
            return (ErrorCode.KafkaStorageError, -1);
        }

        if (info.Error != ErrorCode.None)
        {
            return (info.Error, -1);
        }

        AdvanceHighWatermark(partition, records.Length);
        return (ErrorCode.None, info.LastOffset);
    }
}
