using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Gregor.Protocol.Primitives;

namespace Gregor.TestKit;

/// <summary>
/// Hand-written encoders for the few wire structures tests need to build byte by byte, written
/// straight from the protocol specification and independent of Gregor's generated codecs, so a
/// shared mistake cannot hide.
/// </summary>
public static class WireEncoding
{
    /// <summary>Request header v1: api key, api version, correlation id, nullable client id.</summary>
    public static void WriteRequestHeaderV1(List<byte> output, short apiKey, short apiVersion, int correlationId, string? clientId)
    {
        WriteInt16(output, apiKey);
        WriteInt16(output, apiVersion);
        WriteInt32(output, correlationId);
        WriteNullableString(output, clientId);
    }

    public static void WriteInt16(List<byte> output, short value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, value);
        output.AddRange(b.ToArray());
    }

    public static void WriteInt32(List<byte> output, int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        output.AddRange(b.ToArray());
    }

    public static void WriteInt64(List<byte> output, long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, value);
        output.AddRange(b.ToArray());
    }

    public static void WriteNullableString(List<byte> output, string? value)
    {
        if (value is null)
        {
            WriteInt16(output, -1);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        WriteInt16(output, (short)bytes.Length);
        output.AddRange(bytes);
    }

    /// <summary>
    /// A produce request v3 (the first version that carries record batch v2) for one partition.
    /// </summary>
    public static byte[] ProduceRequestV3(int correlationId, string topic, int partition, byte[] recordBatch, short acks = 1)
    {
        var output = new List<byte>();
        WriteRequestHeaderV1(output, apiKey: 0, apiVersion: 3, correlationId, "raw-test");
        WriteNullableString(output, null); // transactional id
        WriteInt16(output, acks);
        WriteInt32(output, 30_000); // timeout
        WriteInt32(output, 1); // topics
        WriteNullableString(output, topic);
        WriteInt32(output, 1); // partitions
        WriteInt32(output, partition);
        WriteInt32(output, recordBatch.Length);
        output.AddRange(recordBatch);
        return output.ToArray();
    }

    /// <summary>The error code and base offset of the single partition in a produce response v3.</summary>
    public static (short ErrorCode, long BaseOffset) ParseProduceResponseV3(byte[] frame)
    {
        var span = frame.AsSpan();
        var pos = 4; // correlation id
        var topics = BinaryPrimitives.ReadInt32BigEndian(span[pos..]);
        pos += 4;
        if (topics != 1)
        {
            throw new InvalidDataException($"Expected one topic, got {topics}.");
        }

        var nameLength = BinaryPrimitives.ReadInt16BigEndian(span[pos..]);
        pos += 2 + nameLength;
        var partitions = BinaryPrimitives.ReadInt32BigEndian(span[pos..]);
        pos += 4;
        if (partitions != 1)
        {
            throw new InvalidDataException($"Expected one partition, got {partitions}.");
        }

        pos += 4; // partition index
        var errorCode = BinaryPrimitives.ReadInt16BigEndian(span[pos..]);
        pos += 2;
        var baseOffset = BinaryPrimitives.ReadInt64BigEndian(span[pos..]);
        return (errorCode, baseOffset);
    }

    /// <summary>
    /// An uncompressed record batch v2 holding one record per value, CreateTime timestamps, no
    /// producer id, with a correct CRC-32C.
    /// </summary>
    public static byte[] RecordBatchV2(long firstTimestamp, params (byte[]? Key, byte[]? Value)[] records) =>
        RecordBatchV2(firstTimestamp, firstTimestamp + records.Length - 1, records.Length - 1, records.Length,
            records.Select((r, i) => new HandBuiltRecord(i, i, r.Key, r.Value)).ToArray());

    /// <summary>
    /// An uncompressed record batch v2 whose header says exactly what the test asks, right or
    /// wrong (as a client may leave a field unset or get it wrong), with a correct CRC-32C over it.
    /// </summary>
    public static byte[] RecordBatchV2(long baseTimestamp, long maxTimestamp, int lastOffsetDelta, int recordCount,
        IReadOnlyList<HandBuiltRecord> records, short attributes = 0)
    {
        var body = new List<byte>();
        foreach (var r in records)
        {
            var record = new List<byte> { 0 }; // attributes
            AddVarlong(record, r.TimestampDelta);
            AddVarint(record, r.OffsetDelta);
            AddVarBytes(record, r.Key);
            AddVarBytes(record, r.Value);
            AddVarint(record, 0); // headers
            AddVarint(body, record.Count);
            body.AddRange(record);
        }

        var batch = new List<byte>();
        WriteInt64(batch, 0); // base offset
        WriteInt32(batch, 0); // batch length, patched below
        WriteInt32(batch, -1); // partition leader epoch
        batch.Add(2); // magic
        WriteInt32(batch, 0); // crc, patched below
        WriteInt16(batch, attributes);
        WriteInt32(batch, lastOffsetDelta);
        WriteInt64(batch, baseTimestamp);
        WriteInt64(batch, maxTimestamp);
        WriteInt64(batch, -1); // producer id
        WriteInt16(batch, -1); // producer epoch
        WriteInt32(batch, -1); // base sequence
        WriteInt32(batch, recordCount);
        batch.AddRange(body);

        var bytes = batch.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), bytes.Length - 12);
        var crc = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, bytes.AsSpan(21));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(17), crc);
        return bytes;
    }

    private static void AddVarint(List<byte> output, int value)
    {
        Span<byte> b = stackalloc byte[Varint.MaxVarintBytes];
        var n = Varint.Write(b, value);
        output.AddRange(b[..n].ToArray());
    }

    private static void AddVarlong(List<byte> output, long value)
    {
        Span<byte> b = stackalloc byte[Varint.MaxVarlongBytes];
        var n = Varint.Write(b, value);
        output.AddRange(b[..n].ToArray());
    }

    private static void AddVarBytes(List<byte> output, byte[]? value)
    {
        if (value is null)
        {
            AddVarint(output, -1);
            return;
        }

        AddVarint(output, value.Length);
        output.AddRange(value);
    }
}

/// <summary>One record of <see cref="WireEncoding.RecordBatchV2(long, long, int, int, IReadOnlyList{HandBuiltRecord}, short)"/>: deltas as written on the wire.</summary>
public sealed record HandBuiltRecord(long TimestampDelta, int OffsetDelta, byte[]? Key, byte[]? Value);
