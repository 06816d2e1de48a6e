using Gregor.Metadata.Controller;
using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;

namespace Gregor.Broker.Cluster;

/// <summary>KRaft's metadata topic as observers address it: its name and fixed topic id.</summary>
public static class MetadataTopic
{
    public const string Name = "__cluster_metadata";

    public const int Partition = 0;

    /// <summary>Kafka's fixed id of the metadata topic (Uuid.METADATA_TOPIC_ID, "AAAAAAAAAAAAAAAAAAAAAQ").</summary>
    public static Uuid Id => Uuid.MetadataTopicId;
}

/// <summary>
/// Serves the committed metadata log to broker-only observers, on every voter (each has the whole
/// committed log): Fetch on <c>__cluster_metadata</c> partition 0 and FetchSnapshot (API 59).
/// Each committed entry travels as one record batch whose base offset is the entry's offset and
/// whose partition leader epoch is the entry's epoch, holding one record whose value is the
/// entry's payload (the serialized metadata records, applied atomically as on the voters). Every
/// answer names the quorum's leader in CurrentLeader so the observer learns the active controller.
/// A fetch below the log start (entries deleted behind a snapshot) gets SnapshotId instead of
/// records; FetchSnapshot then serves the current image in Gregor's snapshot format
/// (<see cref="MetadataSnapshot.Serialize"/>, the records of <see cref="MetadataImage.ToRecords"/>),
/// in one piece. Any image at or after the requested end offset is as good a starting point.
/// </summary>
public sealed class MetadataLogServer
{
    /// <summary>Longest long poll: observers come back at once, and a stopping node must not hold them long.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(500);

    private readonly QuorumController _controller;
    private readonly TimeProvider _time;

    public MetadataLogServer(QuorumController controller, TimeProvider time)
    {
        _controller = controller;
        _time = time;
    }

    private IMetadataQuorum Quorum => _controller.Quorum;

    /// <summary>Whether a Fetch asks for the metadata topic (by id from v13, by name before).</summary>
    public static bool IsMetadataFetch(FetchRequest request, short version) =>
        request.Topics.Count == 1
        && (version >= 13 ? request.Topics[0].TopicId == MetadataTopic.Id : request.Topics[0].Topic == MetadataTopic.Name);

    public async Task<FetchResponse> FetchAsync(FetchRequest request, CancellationToken cancellationToken)
    {
        var topic = request.Topics[0];
        var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
        var response = new FetchResponse { SessionId = 0, Responses = [topicResponse] };
        foreach (var partition in topic.Partitions)
        {
            topicResponse.Partitions.Add(partition.Partition != MetadataTopic.Partition
                ? new FetchResponse.PartitionData { PartitionIndex = partition.Partition, ErrorCode = (short)ErrorCode.UnknownTopicOrPartition, HighWatermark = -1 }
                : await FetchPartitionAsync(partition.FetchOffset, partition.PartitionMaxBytes, TimeSpan.FromMilliseconds(Math.Clamp(request.MaxWaitMs, 0, (int)MaxWait.TotalMilliseconds)), cancellationToken).ConfigureAwait(false));
        }

        return response;
    }

    public FetchSnapshotResponse FetchSnapshot(FetchSnapshotRequest request)
    {
        var response = new FetchSnapshotResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new FetchSnapshotResponse.TopicSnapshot { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (var partition in topic.Partitions)
            {
                var image = _controller.Image;
                var leader = Quorum.Leader;
                var answer = new FetchSnapshotResponse.PartitionSnapshot
                {
                    Index = partition.Partition,
                    CurrentLeader = new FetchSnapshotResponse.LeaderIdAndEpoch { LeaderId = leader.LeaderId ?? -1, LeaderEpoch = (int)leader.Epoch },
                    SnapshotId = new FetchSnapshotResponse.SnapshotId { EndOffset = image.Offset + 1, Epoch = (int)leader.Epoch },
                };
                topicResponse.Partitions.Add(answer);
                if (topic.Name != MetadataTopic.Name || partition.Partition != MetadataTopic.Partition)
                {
                    answer.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                }
                else if (image.Offset + 1 < partition.SnapshotId.EndOffset)
                {
                    answer.ErrorCode = (short)ErrorCode.SnapshotNotFound;
                }
                else if (partition.Position != 0)
                {
                    // The snapshot goes out whole; a later position means a different snapshot.
                    answer.ErrorCode = (short)ErrorCode.PositionOutOfRange;
                }
                else
                {
                    var bytes = MetadataSnapshot.Serialize(image);
                    answer.SizeValue = bytes.Length;
                    answer.Position = 0;
                    answer.UnalignedRecords = bytes;
                }
            }
        }

        return response;
    }

    private async Task<FetchResponse.PartitionData> FetchPartitionAsync(long fetchOffset, int maxBytes, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var quorum = Quorum;
        if (fetchOffset >= quorum.LogStartOffset && maxWait > TimeSpan.Zero)
        {
            await WaitForCommitAsync(quorum, fetchOffset, maxWait, cancellationToken).ConfigureAwait(false);
        }

        var leader = quorum.Leader;
        var data = new FetchResponse.PartitionData
        {
            PartitionIndex = MetadataTopic.Partition,
            HighWatermark = quorum.HighWatermark,
            LastStableOffset = quorum.HighWatermark,
            LogStartOffset = quorum.LogStartOffset,
            PreferredReadReplica = -1,
            CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = leader.LeaderId ?? -1, LeaderEpoch = (int)leader.Epoch },
        };
        if (fetchOffset < quorum.LogStartOffset)
        {
            data.SnapshotId = new FetchResponse.SnapshotId { EndOffset = _controller.Image.Offset + 1, Epoch = (int)leader.Epoch };
            data.Records = ReadOnlyMemory<byte>.Empty;
            return data;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (var entry in quorum.ReadCommitted(fetchOffset, 1000))
        {
            // Like a log read, the first batch goes out even when it alone exceeds the limit.
            if (buffer.WrittenCount > 0 && buffer.WrittenCount + entry.Payload.Length + RecordBatch.HeaderSize + 16 > maxBytes)
            {
                break;
            }

            var builder = new RecordBatchBuilder { BaseOffset = entry.Offset, PartitionLeaderEpoch = (int)entry.Epoch };
            builder.Append(_time.GetUtcNow().ToUnixTimeMilliseconds(), null, entry.Payload.ToArray());
            builder.Build(buffer);
        }

        data.Records = buffer.WrittenMemory;
        return data;
    }

    private async Task WaitForCommitAsync(IMetadataQuorum quorum, long fetchOffset, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool HasEntry() => quorum.ReadCommitted(fetchOffset, 1).Count > 0;
        void OnCommitted(long highWatermark)
        {
            // Raft's own entries (configuration, a new leader's no-op) move the high watermark
            // without metadata: only an entry to send ends the wait.
            if (HasEntry())
            {
                committed.TrySetResult();
            }
        }

        quorum.Committed += OnCommitted;
        try
        {
            if (HasEntry())
            {
                return;
            }

            await committed.Task.WaitAsync(maxWait, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            quorum.Committed -= OnCommitted;
        }
    }
}
