using System.Buffers.Binary;
using Gregor.Protocol.Compression;

namespace Gregor.Protocol.Records;

/// <summary>
/// Accessors over the 61-byte header of a record batch v2 (magic 2) held in a span, big-endian as
/// on the wire and on disk. Nothing is copied: storage patches base offset and partition leader
/// epoch in place (both lie before the CRC'd range, so the CRC stays valid); only a max timestamp
/// (and timestamp type) that the broker must correct needs <see cref="RewriteCrc"/>, through
/// <see cref="UpdateMaxTimestamp"/>.
/// </summary>
public static class RecordBatch
{
    public const int BaseOffsetOffset = 0;
    public const int BatchLengthOffset = 8;
    public const int PartitionLeaderEpochOffset = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;
    public const int LastOffsetDeltaOffset = 23;
    public const int BaseTimestampOffset = 27;
    public const int MaxTimestampOffset = 35;
    public const int ProducerIdOffset = 43;
    public const int ProducerEpochOffset = 51;
    public const int BaseSequenceOffset = 53;
    public const int RecordCountOffset = 57;

    /// <summary>Size of the v2 header; the records start here.</summary>
    public const int HeaderSize = 61;

    /// <summary>Base offset and batch length: the bytes not counted by BatchLength.</summary>
    public const int LogOverhead = 12;

    public const byte CurrentMagic = 2;
    public const long NoProducerId = -1;
    public const short NoProducerEpoch = -1;
    public const int NoSequence = -1;
    public const int NoPartitionLeaderEpoch = -1;
    public const long NoTimestamp = -1;

    public const short CompressionCodecMask = 0x07;
    public const short TimestampTypeMask = 0x08;
    public const short TransactionalFlagMask = 0x10;
    public const short ControlFlagMask = 0x20;
    public const short DeleteHorizonFlagMask = 0x40;

    public static long BaseOffset(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[BaseOffsetOffset..]);

    public static int BatchLength(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[BatchLengthOffset..]);

    public static int PartitionLeaderEpoch(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[PartitionLeaderEpochOffset..]);

    public static byte Magic(ReadOnlySpan<byte> batch) => batch[MagicOffset];

    public static uint Crc(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadUInt32BigEndian(batch[CrcOffset..]);

    public static short Attributes(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]);

    public static int LastOffsetDelta(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[LastOffsetDeltaOffset..]);

    public static long BaseTimestamp(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[BaseTimestampOffset..]);

    public static long MaxTimestamp(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[MaxTimestampOffset..]);

    public static long ProducerId(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[ProducerIdOffset..]);

    public static short ProducerEpoch(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[ProducerEpochOffset..]);

    public static int BaseSequence(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[BaseSequenceOffset..]);

    public static int RecordCount(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[RecordCountOffset..]);

    /// <summary>BatchLength plus the 12 bytes of base offset and length.</summary>
    public static int SizeInBytes(ReadOnlySpan<byte> batch) => BatchLength(batch) + LogOverhead;

    public static long LastOffset(ReadOnlySpan<byte> batch) => BaseOffset(batch) + LastOffsetDelta(batch);

    /// <summary>Base sequence plus last offset delta, wrapping at int.MaxValue as Kafka's producers do; -1 without a producer id.</summary>
    public static int LastSequence(ReadOnlySpan<byte> batch)
    {
        var baseSequence = BaseSequence(batch);
        if (baseSequence == NoSequence)
        {
            return NoSequence;
        }

        var last = (long)baseSequence + LastOffsetDelta(batch);
        return last > int.MaxValue ? (int)(last - int.MaxValue - 1) : (int)last;
    }

    public static CompressionType CompressionType(ReadOnlySpan<byte> batch) => (CompressionType)(Attributes(batch) & CompressionCodecMask);

    public static TimestampType TimestampType(ReadOnlySpan<byte> batch) =>
        (Attributes(batch) & TimestampTypeMask) == 0 ? Records.TimestampType.CreateTime : Records.TimestampType.LogAppendTime;

    public static bool IsTransactional(ReadOnlySpan<byte> batch) => (Attributes(batch) & TransactionalFlagMask) != 0;

    public static bool IsControl(ReadOnlySpan<byte> batch) => (Attributes(batch) & ControlFlagMask) != 0;

    /// <summary>KIP-534: the log cleaner stores the delete horizon in the base timestamp.</summary>
    public static bool HasDeleteHorizon(ReadOnlySpan<byte> batch) => (Attributes(batch) & DeleteHorizonFlagMask) != 0;

    public static bool HasProducerId(ReadOnlySpan<byte> batch) => ProducerId(batch) != NoProducerId;

    /// <summary>The CRC-32C of attributes..end, i.e. what <see cref="Crc"/> should hold.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> batch) => Crc32C.Compute(batch[AttributesOffset..]);

    /// <summary>Header sane (size, magic 2, length consistent with the span) and CRC matching. For recovery and replication.</summary>
    public static bool IsValid(ReadOnlySpan<byte> batch) =>
        batch.Length >= HeaderSize
        && Magic(batch) == CurrentMagic
        && SizeInBytes(batch) == batch.Length
        && Crc(batch) == ComputeCrc(batch);

    public static void SetBaseOffset(Span<byte> batch, long baseOffset) =>
        BinaryPrimitives.WriteInt64BigEndian(batch[BaseOffsetOffset..], baseOffset);

    public static void SetPartitionLeaderEpoch(Span<byte> batch, int partitionLeaderEpoch) =>
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpochOffset..], partitionLeaderEpoch);

    /// <summary>Inside the CRC'd range: call <see cref="RewriteCrc"/> afterwards.</summary>
    public static void SetMaxTimestamp(Span<byte> batch, long maxTimestamp) =>
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampOffset..], maxTimestamp);

    /// <summary>Inside the CRC'd range: call <see cref="RewriteCrc"/> afterwards.</summary>
    public static void SetAttributes(Span<byte> batch, short attributes) =>
        BinaryPrimitives.WriteInt16BigEndian(batch[AttributesOffset..], attributes);

    /// <summary>Sets bit 3 of the attributes, leaving the others. Inside the CRC'd range: call <see cref="RewriteCrc"/> afterwards.</summary>
    public static void SetTimestampType(Span<byte> batch, TimestampType timestampType)
    {
        var attributes = Attributes(batch);
        attributes = timestampType == Records.TimestampType.LogAppendTime
            ? (short)(attributes | TimestampTypeMask)
            : (short)(attributes & ~TimestampTypeMask);
        SetAttributes(batch, attributes);
    }

    /// <summary>
    /// Broker-side LogAppendTime (topic config <c>message.timestamp.type=LogAppendTime</c>): Kafka
    /// sets the timestamp type bit and max timestamp, leaves the records alone and recomputes the CRC.
    /// </summary>
    public static void SetLogAppendTime(Span<byte> batch, long logAppendTime) =>
        UpdateMaxTimestamp(batch, Records.TimestampType.LogAppendTime, logAppendTime);

    /// <summary>
    /// Kafka's DefaultRecordBatch.setMaxTimestamp: writes the timestamp type and max timestamp and
    /// recomputes the CRC, but only when either differs from the header, so a well-formed batch is
    /// left byte for byte as the client sent it. Returns whether the header changed.
    /// </summary>
    public static bool UpdateMaxTimestamp(Span<byte> batch, TimestampType timestampType, long maxTimestamp)
    {
        if (TimestampType(batch) == timestampType && MaxTimestamp(batch) == maxTimestamp)
        {
            return false;
        }

        SetTimestampType(batch, timestampType);
        SetMaxTimestamp(batch, maxTimestamp);
        RewriteCrc(batch);
        return true;
    }

    public static void RewriteCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], ComputeCrc(batch));
}
