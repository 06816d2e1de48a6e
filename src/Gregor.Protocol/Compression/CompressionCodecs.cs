using System.Buffers;
using Gregor.Protocol.Records;

namespace Gregor.Protocol.Compression;

/// <summary>
/// The four codecs a record batch's records may be compressed with, in the exact stream formats
/// Kafka clients use: gzip (RFC 1952), snappy (raw, or the xerial framing of snappy-java),
/// LZ4 frame, and zstd frames.
/// </summary>
public static class CompressionCodecs
{
    /// <summary>Appends the compressed form of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void Compress(CompressionType type, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        switch (type)
        {
            case CompressionType.None:
                destination.Write(source);
                break;
            case CompressionType.Gzip:
                GzipCodec.Compress(source, destination);
                break;
            case CompressionType.Snappy:
                SnappyCodec.CompressXerial(source, destination);
                break;
            case CompressionType.Lz4:
                Lz4FrameCodec.Compress(source, destination);
                break;
            case CompressionType.Zstd:
                ZstdCodec.Compress(source, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown compression type.");
        }
    }

    /// <summary>
    /// Appends the decompressed form of <paramref name="source"/> to <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The input is not valid for the codec.</exception>
    public static void Decompress(CompressionType type, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        if ((byte)type > (byte)CompressionType.Zstd)
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown compression type.");
        }

        try
        {
            switch (type)
            {
                case CompressionType.None:
                    destination.Write(source);
                    break;
                case CompressionType.Gzip:
                    GzipCodec.Decompress(source, destination);
                    break;
                case CompressionType.Snappy:
                    SnappyCodec.Decompress(source, destination);
                    break;
                case CompressionType.Lz4:
                    Lz4FrameCodec.Decompress(source, destination);
                    break;
                case CompressionType.Zstd:
                    ZstdCodec.Decompress(source, destination);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown compression type.");
            }
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            // The libraries report bad input in their own ways (ZstdException, FormatException,
            // ArgumentOutOfRange from a block that overruns its buffer); callers only need "this is
            // not valid data".
            throw new InvalidDataException($"Invalid {type} data: {e.Message}", e);
        }
    }

    /// <summary>Decompresses into a new array (tests, tools; the hot path uses a pooled writer).</summary>
    public static byte[] Decompress(CompressionType type, ReadOnlySpan<byte> source)
    {
        using var writer = new PooledBufferWriter(source.Length * 4);
        Decompress(type, source, writer);
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Compress(CompressionType type, ReadOnlySpan<byte> source)
    {
        using var writer = new PooledBufferWriter(source.Length + 64);
        Compress(type, source, writer);
        return writer.WrittenSpan.ToArray();
    }
}
