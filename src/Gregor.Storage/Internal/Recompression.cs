using System.Buffers;
using Gregor.Protocol.Records;

namespace Gregor.Storage.Internal;

/// <summary>
/// A topic's <c>compression.type</c> other than <c>producer</c>: client batches in another codec
/// are re-encoded on the way in (Kafka's LogValidator does the same), keeping every record, their
/// timestamps and headers, and the batch's producer fields; offset deltas become 0..n-1. Batches
/// whose offset deltas are not consecutive are rebuilt the same way in their own codec.
/// </summary>
internal static class Recompression
{
    /// <summary>The codec a topic's compression.type asks for, or null for "producer" (keep as sent).</summary>
    public static CompressionType? Target(string compressionType) => compressionType switch
    {
        "uncompressed" => CompressionType.None,
        "gzip" => CompressionType.Gzip,
        "snappy" => CompressionType.Snappy,
        "lz4" => CompressionType.Lz4,
        "zstd" => CompressionType.Zstd,
        _ => null,
    };

    /// <summary>True when some batch in <paramref name="data"/> is not in <paramref name="target"/>.</summary>
    public static bool Needed(ReadOnlySpan<byte> data, CompressionType target)
    {
        var position = 0;
        while (Batches.TryReadNext(data, ref position, out var start, out var size))
        {
            var batch = data.Slice(start, size);
            if (!Batches.IsControl(batch) && RecordBatch.CompressionType(batch) != target)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Every batch of <paramref name="data"/> (already whole, validated batches) rebuilt in
    /// <paramref name="target"/>, or in its own codec when null, with offset deltas 0..n-1 (Kafka's
    /// buildRecordsAndAssignOffsets). Control batches and batches already in the target codec with
    /// consecutive offset deltas are copied as they are.
    /// </summary>
    public static byte[] Recompress(ReadOnlySpan<byte> data, CompressionType? target)
    {
        var output = new ArrayBufferWriter<byte>(data.Length + 256);
        var position = 0;
        while (Batches.TryReadNext(data, ref position, out var start, out var size))
        {
            var batch = data.Slice(start, size);
            var codec = target ?? RecordBatch.CompressionType(batch);
            if (Batches.IsControl(batch) || Batches.RecordCount(batch) == 0
                || RecordBatch.CompressionType(batch) == codec && OffsetDeltasConsecutive(batch))
            {
                output.Write(batch);
                continue;
            }

            var builder = new RecordBatchBuilder
            {
                BaseOffset = Batches.BaseOffset(batch),
                PartitionLeaderEpoch = Batches.PartitionLeaderEpoch(batch),
                ProducerId = RecordBatch.ProducerId(batch),
                ProducerEpoch = RecordBatch.ProducerEpoch(batch),
                BaseSequence = RecordBatch.BaseSequence(batch),
                IsTransactional = RecordBatch.IsTransactional(batch),
                TimestampType = RecordBatch.TimestampType(batch),
                LogAppendTime = Batches.IsLogAppendTime(batch) ? Batches.MaxTimestamp(batch) : null,
                CompressionType = codec,
            };
            using var reader = new RecordReader(batch);
            var offsetDelta = 0;
            while (reader.TryReadNext(out var record))
            {
                List<RecordHeaderData>? headers = null;
                if (record.HeaderCount > 0)
                {
                    headers = new List<RecordHeaderData>(record.HeaderCount);
                    foreach (var header in record.Headers)
                    {
                        headers.Add(new RecordHeaderData(header.Key, header.HasValue ? header.Value.ToArray() : null));
                    }
                }

                builder.AppendWithOffsetDelta(offsetDelta++, record.Timestamp(reader.BaseTimestamp),
                    record.HasKey ? record.Key.ToArray() : null, record.HasValue ? record.Value.ToArray() : null, headers);
            }

            builder.Build(output);
        }

        return output.WrittenSpan.ToArray();
    }

    private static bool OffsetDeltasConsecutive(ReadOnlySpan<byte> batch)
    {
        using var reader = new RecordReader(batch);
        var expected = 0;
        while (reader.TryReadNext(out var record))
        {
            if (record.OffsetDelta != expected++)
            {
                return false;
            }
        }

        return true;
    }
}
