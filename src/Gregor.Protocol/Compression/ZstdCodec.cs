using System.Buffers;
using ZstdSharp;

namespace Gregor.Protocol.Compression;

/// <summary>
/// Zstandard frames (Kafka 2.1+, KIP-110). The Java client's streaming writer leaves the content
/// size out of the frame header, so decompression streams rather than sizing the output up front.
/// </summary>
public static class ZstdCodec
{
    // Kafka's default compression.zstd.level.
    public const int DefaultLevel = 3;

    [ThreadStatic]
    private static Decompressor? t_decompressor;

    [ThreadStatic]
    private static Compressor? t_compressor;

    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level = DefaultLevel)
    {
        var compressor = t_compressor ??= new Compressor(DefaultLevel);
        if (compressor.Level != level)
        {
            compressor.Level = level;
        }

        var span = destination.GetSpan(Compressor.GetCompressBound(source.Length));
        var written = compressor.Wrap(source, span);
        destination.Advance(written);
    }

    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        var decompressor = t_decompressor ??= new Decompressor();
        decompressor.ResetStream();
        var sawOutputOrFrame = false;
        while (true)
        {
            var span = destination.GetSpan(64 * 1024);
            var status = decompressor.UnwrapStream(source, span, out var consumed, out var written);
            destination.Advance(written);
            source = source[consumed..];

            sawOutputOrFrame |= consumed > 0;
            switch (status)
            {
                case OperationStatus.Done:
                    if (source.IsEmpty)
                    {
                        return;
                    }

                    // Another frame follows (concatenated frames are a valid zstd stream).
                    continue;
                case OperationStatus.DestinationTooSmall:
                    continue;
                case OperationStatus.NeedMoreData:
                    if (source.IsEmpty)
                    {
                        if (written > 0)
                        {
                            // Output may still be buffered inside the decoder; drain it.
                            continue;
                        }

                        throw new InvalidDataException(sawOutputOrFrame ? "Truncated zstd frame." : "Empty zstd input.");
                    }

                    if (consumed == 0 && written == 0)
                    {
                        throw new InvalidDataException("Zstd decoder made no progress.");
                    }

                    continue;
                default:
                    throw new InvalidDataException("Invalid zstd data.");
            }
        }
    }
}
