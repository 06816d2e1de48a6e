using System.Buffers.Binary;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Protocol.Tests.Compression;

public class CompressionCodecsTests
{
    public static TheoryData<CompressionType, int> CodecsAndSizes()
    {
        var data = new TheoryData<CompressionType, int>();
        foreach (var type in new[] { CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd })
        {
            foreach (var size in new[] { 0, 1, 1000, 65_536, 65_537, 300_000, 1_100_000 })
            {
                data.Add(type, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CodecsAndSizes))]
    public void Every_codec_round_trips(CompressionType type, int size)
    {
        // Half compressible text, half noise: exercises both compressed and stored blocks.
        var input = new byte[size];
        new Random(size).NextBytes(input.AsSpan(size / 2));
        for (var i = 0; i < size / 2; i++)
        {
            input[i] = (byte)"gregor speaks kafka "[i % 20];
        }

        var compressed = CompressionCodecs.Compress(type, input);
        if (type != CompressionType.None && size >= 1000)
        {
            Assert.True(compressed.Length < size, $"{type} did not shrink {size} bytes: {compressed.Length}");
        }

        Assert.Equal(input, CompressionCodecs.Decompress(type, compressed));
    }

    [Fact]
    public void Lz4_frames_match_what_kafka_clients_write()
    {
        var frame = CompressionCodecs.Compress(CompressionType.Lz4, "hello"u8);

        // Magic, FLG (version 01, independent blocks), BD (64 KiB), and the header checksum 0x82
        // that every Java and librdkafka LZ4 batch starts with.
        Assert.Equal(new byte[] { 0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82 }, frame[..7]);

        // Incompressible "hello" is stored: size with the high bit, the bytes, then the end mark.
        Assert.Equal(0x80000005u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(7)));
        Assert.Equal("hello"u8.ToArray(), frame[11..16]);
        Assert.Equal(new byte[4], frame[16..]);
    }

    [Fact]
    public void Lz4_decodes_frames_from_the_reference_tool()
    {
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Lz4, CompressionVectors.Lz4LinkedWithChecksumsAndContentSize));
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Lz4, CompressionVectors.Lz4Independent));

        // Two concatenated frames decode to both contents.
        var twice = CompressionVectors.Lz4Independent.Concat(CompressionVectors.Lz4LinkedWithChecksumsAndContentSize).ToArray();
        Assert.Equal(CompressionVectors.Input.Concat(CompressionVectors.Input).ToArray(), CompressionCodecs.Decompress(CompressionType.Lz4, twice));
    }

    [Fact]
    public void Lz4_checksums_are_verified()
    {
        var frame = (byte[])CompressionVectors.Lz4LinkedWithChecksumsAndContentSize.Clone();
        frame[^1] ^= 1; // content checksum
        Assert.Throws<InvalidDataException>(() => CompressionCodecs.Decompress(CompressionType.Lz4, frame));

        var header = (byte[])CompressionVectors.Lz4Independent.Clone();
        header[6] ^= 1; // header checksum
        Assert.Throws<InvalidDataException>(() => CompressionCodecs.Decompress(CompressionType.Lz4, header));
    }

    [Fact]
    public void Lz4_accepts_the_legacy_header_checksum_of_kafka_3160()
    {
        // Kafka before 0.10 hashed the magic too when computing the frame header checksum.
        var frame = CompressionCodecs.Compress(CompressionType.Lz4, CompressionVectors.Input);
        frame[6] = (byte)(System.IO.Hashing.XxHash32.HashToUInt32(frame.AsSpan(0, 6)) >> 8);
        Assert.NotEqual(0x82, frame[6]);
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Lz4, frame));
    }

    [Fact]
    public void Zstd_decodes_a_streamed_frame_without_content_size()
    {
        // Frame header descriptor: no frame content size field (bits 6-7 zero, single segment off).
        Assert.Equal(0, CompressionVectors.ZstdStreamed[4] & 0xE0);
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Zstd, CompressionVectors.ZstdStreamed));
        var twice = CompressionVectors.ZstdStreamed.Concat(CompressionVectors.ZstdStreamed).ToArray();
        Assert.Equal(CompressionVectors.Input.Concat(CompressionVectors.Input).ToArray(), CompressionCodecs.Decompress(CompressionType.Zstd, twice));
    }

    [Fact]
    public void Gzip_decodes_gnu_gzip_output_and_concatenated_members()
    {
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Gzip, CompressionVectors.Gzip));
        var twice = CompressionVectors.Gzip.Concat(CompressionVectors.Gzip).ToArray();
        Assert.Equal(CompressionVectors.Input.Concat(CompressionVectors.Input).ToArray(), CompressionCodecs.Decompress(CompressionType.Gzip, twice));
    }

    [Fact]
    public void Xerial_framed_snappy_decodes()
    {
        // Hand-written per the formats: the xerial header, then two blocks, each a raw snappy
        // stream of one literal: varint length, tag (length-1) << 2, bytes.
        byte[] xerial =
        [
            0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0x00,
            0, 0, 0, 1, 0, 0, 0, 1,
            0, 0, 0, 7, 0x05, 0x10, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o',
            0, 0, 0, 8, 0x06, 0x14, (byte)' ', (byte)'w', (byte)'o', (byte)'r', (byte)'l', (byte)'d',
        ];
        Assert.True(SnappyCodec.IsXerialFramed(xerial));
        Assert.Equal("hello world"u8.ToArray(), CompressionCodecs.Decompress(CompressionType.Snappy, xerial));

        // The raw form librdkafka sends.
        byte[] raw = [0x05, 0x10, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o'];
        Assert.False(SnappyCodec.IsXerialFramed(raw));
        Assert.Equal("hello"u8.ToArray(), CompressionCodecs.Decompress(CompressionType.Snappy, raw));

        // A block length beyond the input is refused.
        var truncated = xerial[..^2];
        Assert.Throws<InvalidDataException>(() => CompressionCodecs.Decompress(CompressionType.Snappy, truncated));
    }

    [Fact]
    public void Snappy_compresses_xerial_framed_and_raw()
    {
        var framed = CompressionCodecs.Compress(CompressionType.Snappy, CompressionVectors.Input);
        Assert.True(SnappyCodec.IsXerialFramed(framed));
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Snappy, framed));

        var raw = new ArrayBufferWriterOf();
        SnappyCodec.CompressRaw(CompressionVectors.Input, raw.Writer);
        Assert.False(SnappyCodec.IsXerialFramed(raw.Writer.WrittenSpan));
        Assert.Equal(CompressionVectors.Input, CompressionCodecs.Decompress(CompressionType.Snappy, raw.Writer.WrittenSpan));
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Garbage_and_truncation_are_invalid_data(CompressionType type)
    {
        var compressed = CompressionCodecs.Compress(type, CompressionVectors.Input);
        Assert.Throws<InvalidDataException>(() => CompressionCodecs.Decompress(type, compressed.AsSpan(0, compressed.Length / 2)));
        var garbage = new byte[200];
        new Random(7).NextBytes(garbage);
        Assert.Throws<InvalidDataException>(() => CompressionCodecs.Decompress(type, garbage));
    }

    private sealed class ArrayBufferWriterOf
    {
        public System.Buffers.ArrayBufferWriter<byte> Writer { get; } = new();
    }
}
