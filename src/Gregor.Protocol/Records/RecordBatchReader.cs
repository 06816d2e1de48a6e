using System.Buffers.Binary;

namespace Gregor.Protocol.Records;

/// <summary>What <see cref="RecordBatchReader.ReadNext"/> found at the position.</summary>
public enum RecordBatchReadStatus
{
    /// <summary>A whole batch (by its length field; contents not checked).</summary>
    Batch,

    /// <summary>Nothing left.</summary>
    End,

    /// <summary>
    /// Fewer bytes than the batch needs: the tail of a fetch response (KIP-74 lets the broker stop
    /// mid-batch) or a segment torn by a crash. Storage truncates here; fetch drops it.
    /// </summary>
    Partial,

    /// <summary>A length field smaller than a v2 header: not a batch boundary at all.</summary>
    Corrupt,
}

/// <summary>
/// Walks a records blob (a produce payload, a fetch response's records, a segment's bytes) batch
/// by batch using only the length fields, without checking CRCs or decoding anything.
/// </summary>
public static class RecordBatchReader
{
    /// <summary>
    /// The batch at <paramref name="position"/>; on success position moves past it. False at the end,
    /// at a trailing partial batch or at a corrupt length; then position stays where the bad tail
    /// starts, so <c>position != data.Length</c> tells a tail apart from a clean end.
    /// </summary>
    public static bool TryReadNext(ReadOnlySpan<byte> data, ref int position, out int batchStart, out int batchSize) =>
        ReadNext(data, ref position, out batchStart, out batchSize) == RecordBatchReadStatus.Batch;

    public static RecordBatchReadStatus ReadNext(ReadOnlySpan<byte> data, ref int position, out int batchStart, out int batchSize)
    {
        batchStart = position;
        batchSize = 0;
        var remaining = data.Length - position;
        if (remaining <= 0)
        {
            return RecordBatchReadStatus.End;
        }

        if (remaining < RecordBatch.LogOverhead)
        {
            return RecordBatchReadStatus.Partial;
        }

        var batchLength = BinaryPrimitives.ReadInt32BigEndian(data[(position + RecordBatch.BatchLengthOffset)..]);

        // Magic 0/1 message sets have smaller headers; we only ever store v2, so anything shorter
        // than a v2 header cannot be a batch.
        if (batchLength < RecordBatch.HeaderSize - RecordBatch.LogOverhead)
        {
            return RecordBatchReadStatus.Corrupt;
        }

        var size = (long)batchLength + RecordBatch.LogOverhead;
        if (size > remaining)
        {
            return RecordBatchReadStatus.Partial;
        }

        batchSize = (int)size;
        position += batchSize;
        return RecordBatchReadStatus.Batch;
    }

    /// <summary>The number of leading bytes of <paramref name="data"/> that are whole batches.</summary>
    public static int ValidBytes(ReadOnlySpan<byte> data)
    {
        var position = 0;
        while (TryReadNext(data, ref position, out _, out _))
        {
        }

        return position;
    }
}
