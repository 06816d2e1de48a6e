using System.Buffers;
using System.IO.Compression;

namespace Gregor.Protocol.Compression;

/// <summary>Gzip (RFC 1952) streams, as Java's GZIPOutputStream and librdkafka's zlib write them.</summary>
public static class GzipCodec
{
    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new BufferWriterStream(destination);
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(source);
        }
    }

    public static unsafe void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
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
