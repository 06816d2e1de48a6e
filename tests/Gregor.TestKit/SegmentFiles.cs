using System.Buffers.Binary;

namespace Gregor.TestKit;

/// <summary>
/// Reads batch headers straight out of Kafka-format segment files, so tests can check what the
/// broker wrote to disk (and damage it on purpose) without going through Gregor's own code.
/// </summary>
public static class SegmentFiles
{
    public readonly record struct BatchHeader(long Position, int Size, long BaseOffset, int LastOffsetDelta, short Attributes, int RecordCount)
    {
        public int CompressionCodec => Attributes & 0x7;

        public long LastOffset => BaseOffset + LastOffsetDelta;
    }

    public static string PartitionDirectory(string dataDirectory, string topic, int partition) =>
        Path.Combine(dataDirectory, $"{topic}-{partition}");

    /// <summary>The segment .log files of a partition, oldest first.</summary>
    public static string[] Segments(string dataDirectory, string topic, int partition) =>
        Directory.GetFiles(PartitionDirectory(dataDirectory, topic, partition), "*.log").Order(StringComparer.Ordinal).ToArray();

    public static List<BatchHeader> ReadBatches(string segmentPath)
    {
        var bytes = File.ReadAllBytes(segmentPath);
        var batches = new List<BatchHeader>();
        var position = 0;
        while (position + 61 <= bytes.Length)
        {
            var span = bytes.AsSpan(position);
            var size = BinaryPrimitives.ReadInt32BigEndian(span[8..]) + 12;
            if (size < 61 || position + size > bytes.Length)
            {
                break;
            }

            batches.Add(new BatchHeader(
                position,
                size,
                BinaryPrimitives.ReadInt64BigEndian(span),
                BinaryPrimitives.ReadInt32BigEndian(span[23..]),
                BinaryPrimitives.ReadInt16BigEndian(span[21..]),
                BinaryPrimitives.ReadInt32BigEndian(span[57..])));
            position += size;
        }

        return batches;
    }
}
