using Gregor.Protocol;

namespace Gregor.Broker.Replica;

public readonly record struct ListOffsetsPartitionResult(ErrorCode ErrorCode, long Timestamp, long Offset, int LeaderEpoch)
{
    public static ListOffsetsPartitionResult Error(ErrorCode errorCode) => new(errorCode, -1, -1, -1);
}

public sealed partial class ReplicaManager
{
    public const long LatestTimestamp = -1;
    public const long EarliestTimestamp = -2;
    public const long MaxTimestamp = -3;
    public const long EarliestLocalTimestamp = -4;
    public const long LatestTieredTimestamp = -5;

    /// <summary>Kafka's replica id of a consumer in ListOffsets and Fetch.</summary>
    public const int ConsumerReplicaId = -1;

    /// <summary>Kafka's replica id for debugging tools: may read from followers and beyond the high watermark.</summary>
    public const int DebuggingReplicaId = -2;

    /// <summary>
    /// ListOffsets for a consumer: earliest (-2) is the log start offset, latest (-1) the high
    /// watermark (or last stable offset for read_committed), max timestamp (-3, KIP-734) and
    /// timestamps go through the time index; an offset found at or above the high watermark is not
    /// returned. A broker asking (replica id ≥ 0) or the debugging id (-2) gets the log end offset
    /// for latest, as Kafka answers only consumers (-1) with the high watermark; -2 may ask a follower.
    /// </summary>
    public ListOffsetsPartitionResult FetchOffsetForTimestamp(string topic, int partitionIndex, long timestamp, sbyte isolationLevel, int currentLeaderEpoch, int replicaId = ConsumerReplicaId)
    {
        var partition = GetPartition(topic, partitionIndex);
        if (partition is null)
        {
            return ListOffsetsPartitionResult.Error(NoReplicaError(topic, partitionIndex));
        }

        var epochError = replicaId == DebuggingReplicaId ? partition.CheckEpochOnly(currentLeaderEpoch) : partition.CheckLeaderEpoch(currentLeaderEpoch);
        if (epochError != ErrorCode.None)
        {
            return ListOffsetsPartitionResult.Error(epochError);
        }

        switch (timestamp)
        {
            case LatestTimestamp:
                var latest = replicaId != ConsumerReplicaId ? partition.LogEndOffset
                    : isolationLevel == 1 ? partition.LastStableOffset : partition.HighWatermark;
                return new ListOffsetsPartitionResult(ErrorCode.None, -1, latest, partition.LeaderEpoch);
            case EarliestTimestamp or EarliestLocalTimestamp:
            {
                var found = partition.Log.FetchOffsetByTimestamp(EarliestTimestamp);
                return new ListOffsetsPartitionResult(ErrorCode.None, -1, partition.LogStartOffset, found.LeaderEpoch ?? -1);
            }

            default:
            {
                if (timestamp < MaxTimestamp && timestamp != LatestTieredTimestamp)
                {
                    return ListOffsetsPartitionResult.Error(ErrorCode.InvalidRequest);
                }

                if (timestamp == LatestTieredTimestamp)
                {
                    // No tiered storage: nothing is tiered, Kafka answers -1.
                    return new ListOffsetsPartitionResult(ErrorCode.None, -1, -1, -1);
                }

                var found = partition.Log.FetchOffsetByTimestamp(timestamp);
                if (found.Offset < 0 || found.Offset >= partition.HighWatermark)
                {
                    return new ListOffsetsPartitionResult(ErrorCode.None, -1, -1, -1);
                }

                return new ListOffsetsPartitionResult(ErrorCode.None, found.Timestamp, found.Offset, found.LeaderEpoch ?? -1);
            }
        }
    }
}
