using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Primitives;

namespace Gregor.Protocol.Records;

/// <summary>A header to write: UTF-8 key, nullable value.</summary>
public readonly record struct RecordHeaderData(string Key, byte[]? Value);

/// <summary>
/// Writes a complete v2 batch: records (optionally compressed), header, CRC-32C. For tests,
/// internal topics (__consumer_offsets, __transaction_state) and transaction markers; the produce
/// path never re-encodes client batches. Offset deltas default to 0..n-1; the base timestamp is
/// the first record's, as Kafka's MemoryRecordsBuilder does.
/// </summary>
public sealed class RecordBatchBuilder
{
    private readonly ArrayBufferWriter<byte> _records = new();
    private int _count;
    private int _lastOffsetDelta = -1;
    private long _baseTimestamp = RecordBatch.NoTimestamp;
    private long _maxTimestamp = RecordBatch.NoTimestamp;

    public long BaseOffset { get; set; }

    public int PartitionLeaderEpoch { get; set; } = RecordBatch.NoPartitionLeaderEpoch;

    public long ProducerId { get; set; } = RecordBatch.NoProducerId;

    public short ProducerEpoch { get; set; } = RecordBatch.NoProducerEpoch;

    public int BaseSequence { get; set; } = RecordBatch.NoSequence;

    public bool IsTransactional { get; set; }

    public bool IsControl { get; set; }

    public TimestampType TimestampType { get; set; } = TimestampType.CreateTime;

    /// <summary>With <see cref="TimestampType.LogAppendTime"/>, the batch's max timestamp.</summary>
    public long? LogAppendTime { get; set; }

    public CompressionType CompressionType { get; set; } = CompressionType.None;

    public int Count => _count;

    public RecordBatchBuilder Append(long timestamp, byte[]? key, byte[]? value, IReadOnlyList<RecordHeaderData>? headers = null) =>
        AppendWithOffsetDelta(_lastOffsetDelta + 1, timestamp, key, value, headers);

    /// <summary>
    /// An explicit offset delta (increasing, gaps allowed), as in the batches the log cleaner
    /// writes after compaction.
    /// </summary>
    public RecordBatchBuilder AppendWithOffsetDelta(int offsetDelta, long timestamp, byte[]? key, byte[]? value, IReadOnlyList<RecordHeaderData>? headers = null)
    {
        if (_count == 0)
        {
            _baseTimestamp = timestamp;
        }

        var timestampDelta = timestamp - _baseTimestamp;
        var bodySize = 1 + Varint.SizeOf(timestampDelta) + Varint.SizeOf(offsetDelta)
            + SizeOfBytes(key) + SizeOfBytes(value) + Varint.SizeOf(headers?.Count ?? 0);
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                var keyLength = Encoding.UTF8.GetByteCount(header.Key);
                bodySize += Varint.SizeOf(keyLength) + keyLength + SizeOfBytes(header.Value);
            }
        }

        var span = _records.GetSpan(Varint.MaxVarintBytes + bodySize);
        var p = Varint.Write(span, bodySize);
        span[p++] = 0; // record attributes: unused
        p += Varint.Write(span[p..], timestampDelta);
        p += Varint.Write(span[p..], offsetDelta);
        p += WriteBytes(span[p..], key);
        p += WriteBytes(span[p..], value);
        p += Varint.Write(span[p..], headers?.Count ?? 0);
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                var keyLength = Encoding.UTF8.GetByteCount(header.Key);
                p += Varint.Write(span[p..], keyLength);
                p += Encoding.UTF8.GetBytes(header.Key, span[p..]);
                p += WriteBytes(span[p..], header.Value);
            }
        }

        _records.Advance(p);
        _count++;
        _lastOffsetDelta = offsetDelta;
        _maxTimestamp = Math.Max(_maxTimestamp, timestamp);
        return this;
    }

    /// <summary>Appends the complete batch to <paramref name="destination"/> and returns its size.</summary>
    public int Build(IBufferWriter<byte> destination)
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        using var compressed = CompressionType == CompressionType.None ? null : new PooledBufferWriter(_records.WrittenCount + 64);
        var records = _records.WrittenSpan;
        if (compressed is not null)
        {
            CompressionCodecs.Compress(CompressionType, records, compressed);
            records = compressed.WrittenSpan;
        }

        var size = RecordBatch.HeaderSize + records.Length;
        var batch = destination.GetSpan(size)[..size];
        short attributes = (short)CompressionType;
        if (TimestampType == TimestampType.LogAppendTime)
        {
            attributes |= RecordBatch.TimestampTypeMask;
        }

        if (IsTransactional)
        {
            attributes |= RecordBatch.TransactionalFlagMask;
        }

        if (IsControl)
        {
            attributes |= RecordBatch.ControlFlagMask;
        }

        var maxTimestamp = TimestampType == TimestampType.LogAppendTime && LogAppendTime is { } appendTime ? appendTime : _maxTimestamp;
        BinaryPrimitives.WriteInt64BigEndian(batch, BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.BatchLengthOffset..], size - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.PartitionLeaderEpochOffset..], PartitionLeaderEpoch);
        batch[RecordBatch.MagicOffset] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.AttributesOffset..], attributes);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..], _lastOffsetDelta);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.BaseTimestampOffset..], _baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..], maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.ProducerIdOffset..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.ProducerEpochOffset..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.BaseSequenceOffset..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.RecordCountOffset..], _count);
        records.CopyTo(batch[RecordBatch.HeaderSize..]);
        RecordBatch.RewriteCrc(batch);
        destination.Advance(size);
        return size;
    }

    public byte[] Build()
    {
        var writer = new ArrayBufferWriter<byte>(RecordBatch.HeaderSize + _records.WrittenCount + 64);
        Build(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A transaction marker: a transactional control batch holding one control record whose key is
    /// the marker type and whose value is the EndTxnMarker with the coordinator epoch.
    /// </summary>
    public static byte[] BuildControlBatch(
        ControlRecordType type,
        long producerId,
        short producerEpoch,
        int coordinatorEpoch,
        long timestamp,
        long baseOffset = 0,
        int partitionLeaderEpoch = RecordBatch.NoPartitionLeaderEpoch)
    {
        var builder = new RecordBatchBuilder
        {
            BaseOffset = baseOffset,
            PartitionLeaderEpoch = partitionLeaderEpoch,
            ProducerId = producerId,
            ProducerEpoch = producerEpoch,
            IsTransactional = true,
            IsControl = true,
        };
        builder.Append(timestamp, ControlRecord.Key(type), ControlRecord.EndTxnMarkerValue(coordinatorEpoch));
        return builder.Build();
    }

    private static int SizeOfBytes(byte[]? bytes) => bytes is null ? Varint.SizeOf(-1) : Varint.SizeOf(bytes.Length) + bytes.Length;

    private static int WriteBytes(Span<byte> destination, byte[]? bytes)
    {
        if (bytes is null)
        {
            return Varint.Write(destination, -1);
        }

        var n = Varint.Write(destination, bytes.Length);
        bytes.CopyTo(destination[n..]);
        return n + bytes.Length;
    }
}
