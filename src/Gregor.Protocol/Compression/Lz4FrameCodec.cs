using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using K4os.Compression.LZ4;

namespace Gregor.Protocol.Compression;

/// <summary>
/// The LZ4 frame format (lz4's <c>lz4_Frame_format.md</c>), which Kafka uses for compression type 3.
/// We write what the Java client and librdkafka write: independent 64 KiB blocks, no block or
/// content checksums, no content size. We read any frame: linked blocks, checksums, content size,
/// concatenated and skippable frames. Magic 0/1 batches once had a header checksum computed over
/// the magic too (KAFKA-3160); only magic 2 reaches us, but that legacy checksum is accepted as
/// well since it costs nothing.
/// </summary>
public static class Lz4FrameCodec
{
    private const uint FrameMagic = 0x184D2204;
    private const uint SkippableMagicMask = 0xFFFFFFF0;
    private const uint SkippableMagic = 0x184D2A50;
    private const int BlockSize = 64 * 1024;
    private const uint UncompressedBlockFlag = 0x80000000;
    private const int LinkedDictionarySize = 64 * 1024;

    private const byte FlagVersion = 0x40;
    private const byte FlagBlockIndependence = 0x20;
    private const byte FlagBlockChecksum = 0x10;
    private const byte FlagContentSize = 0x08;
    private const byte FlagContentChecksum = 0x04;
    private const byte FlagDictionaryId = 0x01;

    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, LZ4Level level = LZ4Level.L00_FAST)
    {
        var header = destination.GetSpan(7);
        BinaryPrimitives.WriteUInt32LittleEndian(header, FrameMagic);
        header[4] = FlagVersion | FlagBlockIndependence;
        header[5] = 4 << 4; // block maximum size id 4: 64 KiB
        header[6] = HeaderChecksum(header.Slice(4, 2));
        destination.Advance(7);

        while (!source.IsEmpty)
        {
            var chunk = source[..Math.Min(BlockSize, source.Length)];
            source = source[chunk.Length..];
            var span = destination.GetSpan(4 + LZ4Codec.MaximumOutputSize(chunk.Length));
            var written = LZ4Codec.Encode(chunk, span[4..], level);
            if (written <= 0 || written >= chunk.Length)
            {
                chunk.CopyTo(span[4..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)chunk.Length | UncompressedBlockFlag);
                destination.Advance(4 + chunk.Length);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)written);
                destination.Advance(4 + written);
            }
        }

        var end = destination.GetSpan(4);
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0);
        destination.Advance(4);
    }

    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        var position = 0;
        var frames = 0;
        while (position < source.Length)
        {
            position += DecompressFrame(source[position..], destination, ref frames);
        }

        if (frames == 0)
        {
            throw new InvalidDataException("No LZ4 frame in the input.");
        }
    }

    private static int DecompressFrame(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, ref int frames)
    {
        if (source.Length < 4)
        {
            throw new InvalidDataException("Truncated LZ4 frame magic.");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(source);
        if ((magic & SkippableMagicMask) == SkippableMagic)
        {
            if (source.Length < 8)
            {
                throw new InvalidDataException("Truncated LZ4 skippable frame.");
            }

            var skip = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
            if (skip > (uint)(source.Length - 8))
            {
                throw new InvalidDataException("Truncated LZ4 skippable frame.");
            }

            return 8 + (int)skip;
        }

        if (magic != FrameMagic)
        {
            throw new InvalidDataException($"Not an LZ4 frame (magic 0x{magic:X8}).");
        }

        if (source.Length < 7)
        {
            throw new InvalidDataException("Truncated LZ4 frame descriptor.");
        }

        var flags = source[4];
        if ((flags & 0xC0) != FlagVersion)
        {
            throw new InvalidDataException("Unsupported LZ4 frame version.");
        }

        var descriptorLength = 2 + ((flags & FlagContentSize) != 0 ? 8 : 0) + ((flags & FlagDictionaryId) != 0 ? 4 : 0);
        if (source.Length < 4 + descriptorLength + 1)
        {
            throw new InvalidDataException("Truncated LZ4 frame descriptor.");
        }

        if ((flags & FlagDictionaryId) != 0)
        {
            throw new InvalidDataException("LZ4 frames with a dictionary id are not supported.");
        }

        var headerChecksum = source[4 + descriptorLength];
        if (headerChecksum != HeaderChecksum(source.Slice(4, descriptorLength))
            && headerChecksum != HeaderChecksum(source[..(4 + descriptorLength)]))
        {
            throw new InvalidDataException("LZ4 frame header checksum mismatch.");
        }

        var maxBlockSize = ((source[5] >> 4) & 0x07) switch
        {
            4 => 64 * 1024,
            5 => 256 * 1024,
            6 => 1024 * 1024,
            7 => 4 * 1024 * 1024,
            _ => throw new InvalidDataException("Invalid LZ4 block maximum size."),
        };

        var linked = (flags & FlagBlockIndependence) == 0;
        var blockChecksums = (flags & FlagBlockChecksum) != 0;
        var contentChecksum = (flags & FlagContentChecksum) != 0;
        var contentHash = contentChecksum ? new XxHash32() : null;
        byte[]? dictionary = linked ? ArrayPool<byte>.Shared.Rent(LinkedDictionarySize) : null;
        var dictionaryLength = 0;
        try
        {
            var position = 4 + descriptorLength + 1;
            while (true)
            {
                if (source.Length - position < 4)
                {
                    throw new InvalidDataException("Truncated LZ4 block.");
                }

                var blockHeader = BinaryPrimitives.ReadUInt32LittleEndian(source[position..]);
                position += 4;
                if (blockHeader == 0)
                {
                    break;
                }

                var uncompressed = (blockHeader & UncompressedBlockFlag) != 0;
                var length = (int)(blockHeader & ~UncompressedBlockFlag);
                if (length > maxBlockSize || length > source.Length - position - (blockChecksums ? 4 : 0))
                {
                    throw new InvalidDataException("LZ4 block exceeds its frame.");
                }

                var block = source.Slice(position, length);
                position += length;
                if (blockChecksums)
                {
                    var expected = BinaryPrimitives.ReadUInt32LittleEndian(source[position..]);
                    position += 4;
                    if (XxHash32.HashToUInt32(block) != expected)
                    {
                        throw new InvalidDataException("LZ4 block checksum mismatch.");
                    }
                }

                var output = destination.GetSpan(maxBlockSize);
                int written;
                if (uncompressed)
                {
                    block.CopyTo(output);
                    written = length;
                }
                else
                {
                    written = linked
                        ? LZ4Codec.Decode(block, output[..maxBlockSize], dictionary.AsSpan(0, dictionaryLength))
                        : LZ4Codec.Decode(block, output[..maxBlockSize]);
                    if (written < 0)
                    {
                        throw new InvalidDataException("Invalid LZ4 block.");
                    }
                }

                var produced = output[..written];
                contentHash?.Append(produced);
                if (linked)
                {
                    dictionaryLength = KeepTail(dictionary!, dictionaryLength, produced);
                }

                destination.Advance(written);
            }

            if (contentChecksum)
            {
                if (source.Length - position < 4)
                {
                    throw new InvalidDataException("Truncated LZ4 content checksum.");
                }

                if (contentHash!.GetCurrentHashAsUInt32() != BinaryPrimitives.ReadUInt32LittleEndian(source[position..]))
                {
                    throw new InvalidDataException("LZ4 content checksum mismatch.");
                }

                position += 4;
            }

            frames++;
            return position;
        }
        finally
        {
            if (dictionary is not null)
            {
                ArrayPool<byte>.Shared.Return(dictionary);
            }
        }
    }

    private static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)(XxHash32.HashToUInt32(descriptor) >> 8);

    // Linked blocks may refer back up to 64 KiB into earlier output; keep that window.
    private static int KeepTail(byte[] dictionary, int length, ReadOnlySpan<byte> produced)
    {
        if (produced.Length >= LinkedDictionarySize)
        {
            produced[^LinkedDictionarySize..].CopyTo(dictionary);
            return LinkedDictionarySize;
        }

        var keep = Math.Min(length, LinkedDictionarySize - produced.Length);
        dictionary.AsSpan(length - keep, keep).CopyTo(dictionary);
        produced.CopyTo(dictionary.AsSpan(keep));
        return keep + produced.Length;
    }
}
