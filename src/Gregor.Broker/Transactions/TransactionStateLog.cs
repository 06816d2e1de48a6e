using System.Buffers.Binary;
using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Gregor.Protocol.Records;

namespace Gregor.Broker.Transactions;

/// <summary>Where the transaction coordinator keeps its state: one record per transactional id, last one wins.</summary>
public interface ITransactionStateLog
{
    /// <summary>Writes the transactional id's state; null writes a tombstone (the id expired).</summary>
    void Write(string transactionalId, TransactionLogValue? value);

    /// <summary>Every record, oldest first (a null value is a tombstone).</summary>
    IEnumerable<(string TransactionalId, TransactionLogValue? Value)> ReadAll();

    /// <summary>The records of one partition of the log, oldest first (what a new coordinator of that partition loads).</summary>
    IEnumerable<(string TransactionalId, TransactionLogValue? Value)> ReadPartition(int partition) => [];

    /// <summary>The partition holding <paramref name="transactionalId"/>, or null while the log does not exist yet.</summary>
    int? PartitionOf(string transactionalId) => null;
}

/// <summary>
/// <c>__transaction_state</c> in Kafka's record format (key and value versioned by an int16, the
/// value written at version 0 as Kafka does for classic transactions), created compacted on first
/// use; a transactional id lives in partition <c>abs(javaHashCode(id)) % partitions</c>, as in Kafka.
/// </summary>
public sealed class ReplicaTransactionStateLog : ITransactionStateLog
{
    private const int ReadChunkBytes = 1024 * 1024;
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(5);
    private readonly ReplicaManager _replicaManager;
    private readonly IMetadataView _metadata;
    private readonly TopicCreator _topicCreator;
    private readonly TimeProvider _time;
    private readonly int _partitions;
    private readonly short _replicationFactor;
    private readonly int _segmentBytes;

    public ReplicaTransactionStateLog(ReplicaManager replicaManager, IMetadataView metadata, TopicCreator topicCreator, TimeProvider time,
        int partitions, short replicationFactor, int segmentBytes)
    {
        _replicaManager = replicaManager;
        _metadata = metadata;
        _topicCreator = topicCreator;
        _time = time;
        _partitions = partitions;
        _replicationFactor = replicationFactor;
        _segmentBytes = segmentBytes;
    }

    /// <summary>Kafka's partitionFor: Utils.abs(transactionalId.hashCode()) % partitions.</summary>
    public static int PartitionFor(string transactionalId, int partitions)
    {
        var hash = 0;
        foreach (var c in transactionalId)
        {
            hash = unchecked((31 * hash) + c);
        }

        return (hash & 0x7fffffff) % partitions;
    }

    public void Write(string transactionalId, TransactionLogValue? value)
    {
        var partitionCount = EnsureTopic();
        var builder = new RecordBatchBuilder();
        builder.Append(_time.GetUtcNow().ToUnixTimeMilliseconds(), KeyBytes(transactionalId), value is null ? null : ValueBytes(value));
        var partition = PartitionFor(transactionalId, partitionCount);
        var result = _replicaManager.AppendRecords(TopicNames.TransactionStateTopicName, partition, builder.Build(), -1);
        if (result.ErrorCode != ErrorCode.None)
        {
            throw new KafkaApiException(CoordinatorError(result.ErrorCode),
                $"Appending to {TopicNames.TransactionStateTopicName}-{partition} failed: {result.ErrorCode} {result.ErrorMessage}");
        }

        // Kafka writes the transaction log with acks=all: a Prepare record must be on the ISR
        // before any marker goes out, or a new coordinator could not finish what markers began.
        // The coordinator's calls are synchronous, so this waits in place (at once on a lone node).
        var acks = _replicaManager.WaitForAcksAsync(TopicNames.TransactionStateTopicName, partition, result.LastOffset + 1, AckTimeout, CancellationToken.None)
            .GetAwaiter().GetResult();
        if (acks != ErrorCode.None)
        {
            throw new KafkaApiException(CoordinatorError(acks),
                $"Replicating {TopicNames.TransactionStateTopicName}-{partition} up to offset {result.LastOffset} failed: {acks}");
        }
    }

    /// <summary>
    /// What a client is told when the transaction log cannot take a write, as Kafka's
    /// TransactionStateManager maps it: the partition is missing or short of replicas →
    /// COORDINATOR_NOT_AVAILABLE; this broker no longer leads it → NOT_COORDINATOR (both make the
    /// client find the coordinator again and retry); anything else → UNKNOWN_SERVER_ERROR.
    /// </summary>
    public static ErrorCode CoordinatorError(ErrorCode appendError) => appendError switch
    {
        ErrorCode.UnknownTopicOrPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
            or ErrorCode.RequestTimedOut => ErrorCode.CoordinatorNotAvailable,
        ErrorCode.NotLeaderOrFollower or ErrorCode.KafkaStorageError or ErrorCode.FencedLeaderEpoch => ErrorCode.NotCoordinator,
        _ => ErrorCode.UnknownServerError,
    };

    public int? PartitionOf(string transactionalId) =>
        _metadata.TryGetTopic(TopicNames.TransactionStateTopicName, out var topic) && topic.Partitions.Count > 0
            ? PartitionFor(transactionalId, topic.Partitions.Count)
            : null;

    private int EnsureTopic()
    {
        if (_metadata.TryGetTopic(TopicNames.TransactionStateTopicName, out var topic))
        {
            return topic.Partitions.Count;
        }

        // Not capped at the live brokers: with too few, creation fails and the coordinator is not
        // available, as in Kafka (a lone node's default factor is 1).
        var factor = _replicationFactor;
        var result = _topicCreator.Create(TopicNames.TransactionStateTopicName, _partitions, factor, null,
            [new("cleanup.policy", "compact"), new("compression.type", "uncompressed"), new("segment.bytes", _segmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            validateOnly: false);
        if (!_metadata.TryGetTopic(TopicNames.TransactionStateTopicName, out topic))
        {
            // Too few brokers for its replication factor yet, or the controller is moving: retriable.
            throw new KafkaApiException(ErrorCode.CoordinatorNotAvailable,
                $"Creating {TopicNames.TransactionStateTopicName} failed: {result.ErrorCode} {result.ErrorMessage}");
        }

        return topic.Partitions.Count;
    }

    public IEnumerable<(string TransactionalId, TransactionLogValue? Value)> ReadAll()
    {
        if (!_metadata.TryGetTopic(TopicNames.TransactionStateTopicName, out var topic))
        {
            return [];
        }

        return topic.Partitions.SelectMany(p => ReadPartition(p.PartitionIndex));
    }

    public IEnumerable<(string TransactionalId, TransactionLogValue? Value)> ReadPartition(int partition)
    {
        var log = _replicaManager.GetPartition(TopicNames.TransactionStateTopicName, partition)?.Log;
        if (log is null)
        {
            yield break;
        }

        var offset = log.LogStartOffset;
        var end = log.LogEndOffset;
        while (offset < end)
        {
            var records = new List<(string, TransactionLogValue?)>();
            using (var read = log.Read(offset, ReadChunkBytes, end, minOneBatch: true))
            {
                if (read.Error != ErrorCode.None || read.Length == 0)
                {
                    break;
                }

                offset = Decode(read.Records, offset, records);
            }

            foreach (var record in records)
            {
                yield return record;
            }
        }
    }

    private static long Decode(ReadOnlyMemory<byte> data, long from, List<(string, TransactionLogValue?)> into)
    {
        var position = 0;
        var next = from;
        while (RecordBatchReader.TryReadNext(data.Span, ref position, out var start, out var size))
        {
            var batch = data.Span.Slice(start, size);
            next = Math.Max(next, RecordBatch.LastOffset(batch) + 1);
            using var reader = new RecordReader(batch);
            if (reader.IsControl)
            {
                continue;
            }

            foreach (var record in reader)
            {
                if (record.Offset(reader.BaseOffset) < from || !record.HasKey || record.Key.Length < 2
                    || BinaryPrimitives.ReadInt16BigEndian(record.Key) != 0)
                {
                    continue;
                }

                var key = new TransactionLogKey();
                var keyReader = new KafkaReader(record.Key[2..].ToArray());
                key.Read(ref keyReader, 0);
                TransactionLogValue? value = null;
                if (record.HasValue && record.Value.Length >= 2)
                {
                    var version = BinaryPrimitives.ReadInt16BigEndian(record.Value);
                    if (version is < TransactionLogValue.LowestVersion or > TransactionLogValue.HighestVersion)
                    {
                        continue;
                    }

                    value = new TransactionLogValue();
                    var valueReader = new KafkaReader(record.Value[2..].ToArray());
                    value.Read(ref valueReader, version);
                }

                into.Add((key.TransactionalId, value));
            }
        }

        return next;
    }

    public static byte[] KeyBytes(string transactionalId)
    {
        var key = new TransactionLogKey { TransactionalId = transactionalId };
        var bytes = new byte[2 + key.Size(0)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, 0);
        var writer = new KafkaWriter(bytes.AsSpan(2));
        key.Write(ref writer, 0);
        return bytes;
    }

    public static byte[] ValueBytes(TransactionLogValue value)
    {
        var bytes = new byte[2 + value.Size(0)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, 0);
        var writer = new KafkaWriter(bytes.AsSpan(2));
        value.Write(ref writer, 0);
        return bytes;
    }
}
