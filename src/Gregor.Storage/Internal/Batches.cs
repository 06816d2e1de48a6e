using Gregor.Protocol;
using Gregor.Protocol.Records;

namespace Gregor.Storage.Internal;

/// <summary>
/// The record batch facts storage uses, in one place over <see cref="RecordBatch"/>,
/// <see cref="RecordBatchReader"/> and <see cref="RecordBatchValidator"/>, so the log depends on no
/// more of the batch format than it must.
/// </summary>
internal static class Batches
{
    public const int HeaderSize = RecordBatch.HeaderSize;
    public const int LogOverhead = RecordBatch.LogOverhead;

    public static long BaseOffset(ReadOnlySpan<byte> b) => RecordBatch.BaseOffset(b);
    public static int BatchLength(ReadOnlySpan<byte> b) => RecordBatch.BatchLength(b);
    public static int PartitionLeaderEpoch(ReadOnlySpan<byte> b) => RecordBatch.PartitionLeaderEpoch(b);
    public static short Attributes(ReadOnlySpan<byte> b) => RecordBatch.Attributes(b);
    public static int LastOffsetDelta(ReadOnlySpan<byte> b) => RecordBatch.LastOffsetDelta(b);
    public static long BaseTimestamp(ReadOnlySpan<byte> b) => RecordBatch.BaseTimestamp(b);
    public static long MaxTimestamp(ReadOnlySpan<byte> b) => RecordBatch.MaxTimestamp(b);
    public static int RecordCount(ReadOnlySpan<byte> b) => RecordBatch.RecordCount(b);
    public static long LastOffset(ReadOnlySpan<byte> b) => RecordBatch.LastOffset(b);
    public static bool IsLogAppendTime(ReadOnlySpan<byte> b) => RecordBatch.TimestampType(b) == TimestampType.LogAppendTime;
    public static bool IsControl(ReadOnlySpan<byte> b) => RecordBatch.IsControl(b);

    public static void SetBaseOffset(Span<byte> b, long value) => RecordBatch.SetBaseOffset(b, value);
    public static void SetPartitionLeaderEpoch(Span<byte> b, int value) => RecordBatch.SetPartitionLeaderEpoch(b, value);

    /// <summary>LogAppendTime: the broker's clock becomes the batch's max timestamp, which is
    /// inside the CRC, so the CRC is recomputed (DESIGN.md decision 3).</summary>
    public static void SetLogAppendTime(Span<byte> b, long timestamp) => RecordBatch.SetLogAppendTime(b, timestamp);

    /// <summary>Next whole batch in <paramref name="data"/>; false at the end or at a trailing partial batch.</summary>
    public static bool TryReadNext(ReadOnlySpan<byte> data, ref int position, out int batchStart, out int batchSize) =>
        RecordBatchReader.TryReadNext(data, ref position, out batchStart, out batchSize);

    /// <summary>Kafka's LogValidator checks for a client batch: the header, then every record (decompressing when needed).</summary>
    public static ErrorCode ValidateClientBatch(ReadOnlySpan<byte> batch, out RecordBatchFacts facts, out string? errorMessage) =>
        RecordBatchValidator.ValidateClientBatch(batch, out facts, out errorMessage);

    /// <summary>Corrects the header's max timestamp and timestamp type, recomputing the CRC only when they were wrong.</summary>
    public static bool UpdateMaxTimestamp(Span<byte> b, TimestampType type, long maxTimestamp) => RecordBatch.UpdateMaxTimestamp(b, type, maxTimestamp);

    /// <summary>Integrity on recovery and replication: length, magic and CRC; a failure marks a torn tail.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> batch) => RecordBatch.IsValid(batch);
}
