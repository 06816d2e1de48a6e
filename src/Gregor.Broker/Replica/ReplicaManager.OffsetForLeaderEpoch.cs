using Gregor.Protocol;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

public readonly record struct EpochEndOffsetResult(ErrorCode ErrorCode, int LeaderEpoch, long EndOffset)
{
    public static EpochEndOffsetResult Error(ErrorCode errorCode) =>
        new(errorCode, LeaderEpochFileCache.UndefinedEpoch, LeaderEpochFileCache.UndefinedEpochOffset);
}

public sealed partial class ReplicaManager
{
    /// <summary>
    /// OffsetForLeaderEpoch as the leader (KIP-101, KIP-279, KIP-320): the largest epoch at or
    /// below <paramref name="leaderEpoch"/> in this log and where it ends (the next epoch's start,
    /// or the log end for the latest), or undefined (-1, -1) for an epoch newer than ours.
    /// </summary>
    public EpochEndOffsetResult LastOffsetForLeaderEpoch(string topic, int partitionIndex, int currentLeaderEpoch, int leaderEpoch)
    {
        var partition = GetPartition(topic, partitionIndex);
        if (partition is null || partition.IsDeleted)
        {
            return EpochEndOffsetResult.Error(partition is null ? NoReplicaError(topic, partitionIndex) : ErrorCode.UnknownTopicOrPartition);
        }

        var epochError = partition.CheckLeaderEpoch(currentLeaderEpoch);
        if (epochError != ErrorCode.None)
        {
            return EpochEndOffsetResult.Error(epochError);
        }

        var log = partition.Log;
        var (epoch, endOffset) = log.LeaderEpochCache.EndOffsetFor(leaderEpoch, log.LogEndOffset);
        return new EpochEndOffsetResult(ErrorCode.None, epoch, endOffset);
    }
}
