using System.Buffers;
using System.Buffers.Binary;
using Snappier;

namespace Gregor.Protocol.Compression;

/// <summary>
/// Snappy as Kafka clients send it. librdkafka writes one raw snappy block for the whole records
/// section; the Java client (snappy-java's SnappyOutputStream) writes the xerial framing: the
/// 8-byte magic <c>0x82 "SNAPPY" 0x00</c>, two int32s (version 1, compatible version 1), then
/// blocks of [int32 big-endian length][raw snappy block]. Decompression detects which one it got.
/// We compress with the xerial framing because every client's decoder accepts it.
/// </summary>
public static class SnappyCodec
{
    private static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    private const int XerialHeaderSize = 16;

    // snappy-java's default block size.
    private const int XerialBlockSize = 32 * 1024;

    public static bool IsXerialFramed(ReadOnlySpan<byte> source) =>
        source.Length >= XerialHeaderSize && source[..XerialMagic.Length].SequenceEqual(XerialMagic);

    public static void CompressRaw(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        var span = destination.GetSpan(Snappy.GetMaxCompressedLength(source.Length));
        var written = Snappy.Compress(source, span);
        destination.Advance(written);
    }

    public static void CompressXerial(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        var header = destination.GetSpan(XerialHeaderSize);
        XerialMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], 1);
        BinaryPrimitives.WriteInt32BigEndian(header[12..], 1);
        destination.Advance(XerialHeaderSize);

        while (!source.IsEmpty)
        {
            var chunk = source[..Math.Min(XerialBlockSize, source.Length)];
            source = source[chunk.Length..];
            var span = destination.GetSpan(4 + Snappy.GetMaxCompressedLength(chunk.Length));
            var written = Snappy.Compress(chunk, span[4..]);
            BinaryPrimitives.WriteInt32BigEndian(span, written);
            destination.Advance(4 + written);
        }
    }

    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        if (!IsXerialFramed(source))
        {
            DecompressRaw(source, destination);
            return;
        }

        var position = XerialHeaderSize;
        while (position < source.Length)
        {
            if (source.Length - position < 4)
            {
                throw new InvalidDataException("Truncated xerial snappy block length.");
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(source[position..]);
            position += 4;
            if (length < 0 || length > source.Length - position)
            {
                throw new InvalidDataException($"Xerial snappy block of {length} bytes exceeds the input.");
            }

            DecompressRaw(source.Slice(position, length), destination);
            position += length;
        }
    }

    private static void DecompressRaw(ReadOnlySpan<byte> block, IBufferWriter<byte> destination)
    {
        var length = Snappy.GetUncompressedLength(block);
        var span = destination.GetSpan(Math.Max(length, 1));
        var written = Snappy.Decompress(block, span);
        if (written != length)
        {
            throw new InvalidDataException("Snappy block decompressed to an unexpected length.");
        }

        destination.Advance(written);
    }
}
