using Gregor.Protocol.Records;

namespace Gregor.Storage.Internal;

/// <summary>(timestamp, offset) of each record of a batch, for ListOffsets by timestamp.</summary>
internal static class BatchRecordTimestamps
{
    /// <summary>The first record (timestamp, offset) matching <paramref name="predicate"/>, decompressing if needed.</summary>
    public static (long Timestamp, long Offset)? FindFirst(ReadOnlySpan<byte> batch, Func<(long Timestamp, long Offset), bool> predicate)
    {
        if (Batches.IsLogAppendTime(batch))
        {
            // Every record of a LogAppendTime batch carries the batch's max timestamp.
            var candidate = (Batches.MaxTimestamp(batch), Batches.BaseOffset(batch));
            return predicate(candidate) ? candidate : null;
        }

        try
        {
            using var reader = new RecordReader(batch);
            while (reader.TryReadNext(out var record))
            {
                var candidate = (record.Timestamp(reader.BaseTimestamp), record.Offset(reader.BaseOffset));
                if (predicate(candidate))
                {
                    return candidate;
                }
            }
        }
        catch (InvalidRecordException)
        {
            // CRC-checked batches do not get here; an undecodable one has no answer.
        }

        return null;
    }
}
