using Gregor.Protocol.Primitives;

namespace Gregor.Storage.Internal;

/// <summary>(timestamp, offset) of each record of a batch, for ListOffsets by timestamp.</summary>
internal static class BatchRecordTimestamps
{
    public static List<(long Timestamp, long Offset)> Enumerate(ReadOnlySpan<byte> batch)
    {
        var result = new List<(long, long)>();
        var baseOffset = Batches.BaseOffset(batch);
        var count = Batches.RecordCount(batch);
        if (Batches.IsLogAppendTime(batch))
        {
            // Every record of a LogAppendTime batch carries the batch's max timestamp.
            result.Add((Batches.MaxTimestamp(batch), baseOffset));
            return result;
        }

        if (Batches.CompressionCodec(batch) != 0)
        {
            // Compressed records need decompression; until then, the batch's own bounds stand in:
            // its first record has the base timestamp, the max timestamp is somewhere inside.
            result.Add((Batches.BaseTimestamp(batch), baseOffset));
            result.Add((Batches.MaxTimestamp(batch), Batches.LastOffset(batch)));
            return result;
        }

        try
        {
            ReadUncompressed(batch, baseOffset, count, result);
        }
        catch (FormatException)
        {
            // A malformed varint ends the walk; CRC-checked batches do not get here.
        }

        return result;
    }

    private static void ReadUncompressed(ReadOnlySpan<byte> batch, long baseOffset, int count, List<(long, long)> result)
    {
        var baseTimestamp = Batches.BaseTimestamp(batch);
        var position = Batches.HeaderSize;
        for (var i = 0; i < count && position < batch.Length; i++)
        {
            var n = Varint.TryRead(batch[position..], out int length);
            if (n <= 0 || length < 0)
            {
                break;
            }

            var recordStart = position + n;
            var p = recordStart + 1; // attributes
            var t = Varint.TryRead(batch[p..], out long timestampDelta);
            if (t <= 0)
            {
                break;
            }

            p += t;
            var o = Varint.TryRead(batch[p..], out int offsetDelta);
            if (o <= 0)
            {
                break;
            }

            result.Add((baseTimestamp + timestampDelta, baseOffset + offsetDelta));
            position = recordStart + length;
        }
    }
}
