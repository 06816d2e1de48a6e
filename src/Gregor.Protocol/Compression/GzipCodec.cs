using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Gregor.Protocol.Compression;

/// <summary>Gzip (RFC 1952) streams, as Java's GZIPOutputStream and librdkafka's zlib write them.</summary>
public static class GzipCodec
{
    // GZipStream writes nothing at all when given no bytes; an empty records section still needs
    // a valid member: header, an empty final fixed-Huffman block, CRC 0, size 0.
    private static ReadOnlySpan<byte> EmptyMember => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, CompressionLevel level = CompressionLevel.Fastest)
    {
        if (source.IsEmpty)
        {
            destination.Write(EmptyMember);
            return;
        }

        using var output = new BufferWriterStream(destination);
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(source);
        }
    }

    /// <summary>
    /// GZipStream returns what it could inflate from a truncated stream without complaint, so the
    /// last member's trailer (CRC-32 and size of that member's output) is checked here.
    /// </summary>
    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        if (source.Length < 18 || source[0] != 0x1f || source[1] != 0x8b)
        {
            throw new InvalidDataException("Not a gzip stream.");
        }

        var limit = destination is PooledBufferWriter pooled ? pooled.MaxCapacity - pooled.WrittenCount : int.MaxValue;
        using var output = new PooledBufferWriter(Math.Max(source.Length * 4, 4096), limit);
        Inflate(source, output);
        var expectedCrc = BinaryPrimitives.ReadUInt32LittleEndian(source[^8..]);
        var expectedSize = BinaryPrimitives.ReadUInt32LittleEndian(source[^4..]);
        var produced = output.WrittenSpan;
        if (expectedSize > (uint)produced.Length
            || System.IO.Hashing.Crc32.HashToUInt32(produced[^(int)expectedSize..]) != expectedCrc)
        {
            throw new InvalidDataException("Truncated or corrupt gzip stream: the trailer does not match the data.");
        }

        destination.Write(produced);
    }

    private static unsafe void Inflate(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        fixed (byte* pointer = source)
        {
            using var input = new UnmanagedMemoryStream(pointer, source.Length);

            // GZipStream reads concatenated members too, as zlib's gunzip does.
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            while (true)
            {
                var span = destination.GetSpan(16 * 1024);
                var read = gzip.Read(span);
                if (read == 0)
                {
                    break;
                }

                destination.Advance(read);
            }
        }
    }

    private sealed class BufferWriterStream(IBufferWriter<byte> destination) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => destination.Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => destination.Write(buffer);
    }
}
