using System.Buffers.Binary;
using Gregor.Protocol;

namespace Gregor.Storage.Internal;

/// <summary>
/// The few record batch v2 facts storage needs, in one place so the log never depends on more of
/// the batch format than it must (header fields, whole-batch walking, produce-path validation).
/// </summary>
internal static class Batches
{
    public const int HeaderSize = 61;
    public const int LogOverhead = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;

    public static long BaseOffset(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b);
    public static int BatchLength(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[8..]);
    public static int PartitionLeaderEpoch(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[12..]);
    public static byte Magic(ReadOnlySpan<byte> b) => b[MagicOffset];
    public static short Attributes(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt16BigEndian(b[21..]);
    public static int LastOffsetDelta(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[23..]);
    public static long BaseTimestamp(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b[27..]);
    public static long MaxTimestamp(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b[35..]);
    public static int RecordCount(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[57..]);
    public static int SizeInBytes(ReadOnlySpan<byte> b) => BatchLength(b) + LogOverhead;
    public static long LastOffset(ReadOnlySpan<byte> b) => BaseOffset(b) + LastOffsetDelta(b);
    public static bool IsLogAppendTime(ReadOnlySpan<byte> b) => (Attributes(b) & 0x08) != 0;
    public static int CompressionCodec(ReadOnlySpan<byte> b) => Attributes(b) & 0x07;

    public static void SetBaseOffset(Span<byte> b, long value) => BinaryPrimitives.WriteInt64BigEndian(b, value);
    public static void SetPartitionLeaderEpoch(Span<byte> b, int value) => BinaryPrimitives.WriteInt32BigEndian(b[12..], value);

    /// <summary>LogAppendTime: the broker's clock becomes the batch's max timestamp, which is
    /// inside the CRC, so the CRC is recomputed (DESIGN.md decision 3).</summary>
    public static void SetLogAppendTime(Span<byte> b, long timestamp)
    {
        BinaryPrimitives.WriteInt64BigEndian(b[35..], timestamp);
        BinaryPrimitives.WriteInt16BigEndian(b[21..], (short)(Attributes(b) | 0x08));
        BinaryPrimitives.WriteUInt32BigEndian(b[CrcOffset..], ComputeCrc(b));
    }

    public static uint StoredCrc(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt32BigEndian(b[CrcOffset..]);

    public static uint ComputeCrc(ReadOnlySpan<byte> b) =>
        System.IO.Hashing.Crc32.HashToUInt32(System.IO.Hashing.Crc32ParameterSet.Crc32C, b[AttributesOffset..SizeInBytes(b)]);

    /// <summary>Next whole batch in <paramref name="data"/>; false at the end or at a trailing partial batch.</summary>
    public static bool TryReadNext(ReadOnlySpan<byte> data, ref int position, out int batchStart, out int batchSize)
    {
        batchStart = position;
        batchSize = 0;
        var remaining = data.Length - position;
        if (remaining < LogOverhead)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(data[(position + 8)..]);
        if (length < HeaderSize - LogOverhead || (long)length + LogOverhead > remaining)
        {
            return false;
        }

        batchSize = length + LogOverhead;
        position += batchSize;
        return true;
    }

    /// <summary>Produce-path checks; <c>deepCheck</c> is for compacted topics and is accepted
    /// here for the records API's shape.</summary>
    public static ErrorCode Validate(ReadOnlySpan<byte> batch, out string? errorMessage, bool deepCheck)
    {
        _ = deepCheck;
        if (batch.Length < HeaderSize || SizeInBytes(batch) != batch.Length)
        {
            errorMessage = "Record batch size is inconsistent with its length field.";
            return ErrorCode.CorruptMessage;
        }

        if (Magic(batch) != 2)
        {
            errorMessage = $"Record batch magic {Magic(batch)} is not supported; only magic 2.";
            return ErrorCode.InvalidRecord;
        }

        if (ComputeCrc(batch) != StoredCrc(batch))
        {
            errorMessage = "Record batch CRC-32C mismatch.";
            return ErrorCode.CorruptMessage;
        }

        var count = RecordCount(batch);
        if (count < 0 || LastOffsetDelta(batch) != count - 1 && count != 0)
        {
            errorMessage = "Record count does not match the last offset delta.";
            return ErrorCode.InvalidRecord;
        }

        errorMessage = null;
        return ErrorCode.None;
    }

    /// <summary>Integrity on recovery: length, magic and CRC; a failure marks a torn tail.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> batch) =>
        batch.Length >= HeaderSize && Magic(batch) == 2 && ComputeCrc(batch) == StoredCrc(batch);
}
