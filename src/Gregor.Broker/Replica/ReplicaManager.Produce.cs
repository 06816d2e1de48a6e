using Gregor.Protocol;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

/// <summary>A batch inside a produce request that made the whole partition's append fail (Produce v8+ record errors).</summary>
public readonly record struct RecordError(int BatchIndex, string? Message);

public readonly record struct ProducePartitionResult(
    ErrorCode ErrorCode,
    string? ErrorMessage,
    long BaseOffset,
    long LogAppendTime,
    long LogStartOffset,
    IReadOnlyList<RecordError>? RecordErrors)
{
    public static ProducePartitionResult Error(ErrorCode errorCode, string? message = null) =>
        new(errorCode, message, -1, -1, -1, null);

    /// <summary>The last offset appended (acks=all waits for the high watermark to pass it); -1 on error.</summary>
    public long LastOffset { get; init; } = -1;
}

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Appends a partition's records from a produce request as the leader. The batches are patched
    /// in place (base offset, leader epoch) inside <paramref name="records"/>, never re-encoded.
    /// </summary>
    public ProducePartitionResult AppendRecords(string topic, int partitionIndex, Memory<byte> records, short requiredAcks)
    {
        var partition = GetPartition(topic, partitionIndex);
        if (partition is null)
        {
            return ProducePartitionResult.Error(NoReplicaError(topic, partitionIndex));
        }

        if (!partition.IsLeader)
        {
            return ProducePartitionResult.Error(ErrorCode.NotLeaderOrFollower);
        }

        var log = partition.Log;
        if (requiredAcks == -1 && partition.Isr.Count < log.Config.MinInSyncReplicas)
        {
            return ProducePartitionResult.Error(ErrorCode.NotEnoughReplicas,
                $"The size of the current ISR {partition.Isr.Count} is insufficient to satisfy the min.isr requirement of {log.Config.MinInSyncReplicas} for partition {topic}-{partitionIndex}");
        }

        LogAppendInfo info;
        try
        {
            info = log.Append(records, partition.LeaderEpoch);
        }
        catch (IOException e)
        {
            // Kafka marks the log dir offline; here the partition answers KAFKA_STORAGE_ERROR and
            // the client retries, while other partitions keep working.
            BrokerLog.AppendIoFailed(_logger, e, topic, partitionIndex);
            return ProducePartitionResult.Error(ErrorCode.KafkaStorageError, e.Message);
        }

        if (info.Error != ErrorCode.None)
        {
            BrokerLog.AppendFailed(_logger, topic, partitionIndex, info.Error.ToString(), info.ErrorMessage);
            IReadOnlyList<RecordError>? recordErrors = null;
            if (info.Error == ErrorCode.InvalidRecord)
            {
                // Storage rejects the whole append without naming the record; Kafka's clients only
                // log the record errors, so the first one stands for the batch.
                recordErrors = [new RecordError(0, info.ErrorMessage)];
            }

            return new ProducePartitionResult(info.Error, info.ErrorMessage, -1, -1, -1, recordErrors);
        }

        AdvanceHighWatermark(partition, records.Length);
        return new ProducePartitionResult(ErrorCode.None, null, info.FirstOffset, info.LogAppendTime, info.LogStartOffset, null) { LastOffset = info.LastOffset };
    }
}
