using System.Runtime.CompilerServices;
using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Records;

namespace Gregor.Broker.Groups;

/// <summary>
/// The group coordinator's records live in <c>__consumer_offsets</c> like any partition's: appended
/// through the replica manager (so the high watermark advances and consumers of the topic see
/// them) and replayed from the log on load.
/// </summary>
internal sealed class ReplicaCoordinatorLog : ICoordinatorLog
{
    private const int ReadChunkBytes = 1024 * 1024;

    /// <summary>Kafka's <c>offsets.commit.timeout.ms</c> default: how long a coordinator write waits for the ISR.</summary>
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(5);
    private readonly ReplicaManager _replicaManager;
    private readonly TimeProvider _time;

    public ReplicaCoordinatorLog(ReplicaManager replicaManager, TimeProvider time)
    {
        _replicaManager = replicaManager;
        _time = time;
    }

    public ValueTask AppendAsync(int partition, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default) =>
        AppendAndReplicateAsync(partition, new RecordBatchBuilder(), records, cancellationToken);

    // As Kafka's coordinator runtime: the producer's id and epoch, the transactional flag and no
    // sequence; the log's producer state then holds the last stable offset until the marker.
    public ValueTask AppendTransactionalAsync(int partition, long producerId, short producerEpoch, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default) =>
        AppendAndReplicateAsync(partition, new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = producerEpoch, IsTransactional = true }, records, cancellationToken);

    /// <summary>
    /// Appends as the coordinator (Kafka's AppendOrigin.COORDINATOR) and, as Kafka writes coordinator
    /// records with acks=all, returns once the ISR has the batch (the high watermark passed it); a
    /// lone node's high watermark moves with the append, so that wait ends at once there.
    /// </summary>
    private async ValueTask AppendAndReplicateAsync(int partition, RecordBatchBuilder builder, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var record in records)
        {
            builder.Append(now, record.Key, record.Value);
        }

        var (error, lastOffset) = _replicaManager.AppendAsCoordinator(TopicNames.GroupMetadataTopicName, partition, builder.Build());
        if (error != ErrorCode.None)
        {
            throw new InvalidOperationException($"Appending to {TopicNames.GroupMetadataTopicName}-{partition} failed: {error}");
        }

        var acks = await _replicaManager.WaitForAcksAsync(TopicNames.GroupMetadataTopicName, partition, lastOffset + 1, CommitTimeout, cancellationToken).ConfigureAwait(false);
        if (acks != ErrorCode.None)
        {
            throw new InvalidOperationException($"Replicating {TopicNames.GroupMetadataTopicName}-{partition} up to offset {lastOffset} failed: {acks}");
        }
    }

    public async IAsyncEnumerable<CoordinatorRecord> ReadAllAsync(int partition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var log = _replicaManager.GetPartition(TopicNames.GroupMetadataTopicName, partition)?.Log;
        if (log is null)
        {
            yield break;
        }

        var offset = log.LogStartOffset;
        var end = log.LogEndOffset;
        while (offset < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = new List<CoordinatorRecord>();
            using (var read = log.Read(offset, ReadChunkBytes, end, minOneBatch: true))
            {
                if (read.Error != ErrorCode.None || read.Length == 0)
                {
                    break;
                }

                offset = Decode(read.Records.Span, offset, batch);
            }

            foreach (var record in batch)
            {
                yield return record;
            }

            await Task.Yield();
        }
    }

    /// <summary>Decodes whole batches, skipping records below <paramref name="from"/>; returns the next offset to read.</summary>
    private static long Decode(ReadOnlySpan<byte> data, long from, List<CoordinatorRecord> into)
    {
        var position = 0;
        var next = from;
        while (RecordBatchReader.TryReadNext(data, ref position, out var start, out var size))
        {
            var batch = data.Slice(start, size);
            next = Math.Max(next, RecordBatch.LastOffset(batch) + 1);
            var producerId = RecordBatch.IsTransactional(batch) ? RecordBatch.ProducerId(batch) : -1;
            using var reader = new Protocol.Records.RecordReader(batch);
            foreach (var record in reader)
            {
                if (record.Offset(reader.BaseOffset) < from || !record.HasKey)
                {
                    continue;
                }

                if (reader.IsControl)
                {
                    // COMMIT/ABORT of a transaction whose offsets this partition holds (TxnOffsetCommit).
                    if (ControlRecord.TryReadType(record.Key, out var type) && type is ControlRecordType.Commit or ControlRecordType.Abort)
                    {
                        into.Add(CoordinatorRecord.EndTransaction(RecordBatch.ProducerId(batch),
                            type == ControlRecordType.Commit ? TransactionResult.Commit : TransactionResult.Abort));
                    }

                    continue;
                }

                into.Add(new CoordinatorRecord(record.Key.ToArray(), record.HasValue ? record.Value.ToArray() : null) { ProducerId = producerId });
            }
        }

        return next;
    }
}

/// <summary>The broker's topics as the group coordinator sees them.</summary>
internal sealed class MetadataViewTopicSource : ITopicMetadataSource
{
    private readonly IMetadataView _metadata;

    public MetadataViewTopicSource(IMetadataView metadata)
    {
        _metadata = metadata;
    }

    public bool TryGetTopic(string name, out TopicInfo topic)
    {
        if (_metadata.TryGetTopic(name, out var t))
        {
            topic = new TopicInfo(t.TopicId, t.Name, t.Partitions.Count);
            return true;
        }

        topic = default;
        return false;
    }

    public IReadOnlyList<TopicInfo> AllTopics() =>
        [.. _metadata.Topics.Select(t => new TopicInfo(t.TopicId, t.Name, t.Partitions.Count))];

    public bool TryGetTopic(Uuid topicId, out TopicInfo topic)
    {
        if (_metadata.TryGetTopic(topicId, out var t))
        {
            topic = new TopicInfo(t.TopicId, t.Name, t.Partitions.Count);
            return true;
        }

        topic = default;
        return false;
    }
}
