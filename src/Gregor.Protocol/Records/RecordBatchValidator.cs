using Gregor.Protocol.Compression;

namespace Gregor.Protocol.Records;

/// <summary>
/// What the validating walk over a client batch's records found. Kafka's LogValidator takes the
/// stored max timestamp from the records, never from the header: sarama 1.22, still packaged by
/// distributions, leaves the header's max timestamp at -1.
/// </summary>
/// <param name="MaxTimestamp">The largest record timestamp, -1 when no record has one (Kafka's maxBatchTimestamp).</param>
/// <param name="MinTimestamp">The smallest record timestamp other than -1; <see cref="long.MaxValue"/> when none.</param>
/// <param name="HasRecordWithoutTimestamp">Some record's timestamp is -1 (NO_TIMESTAMP).</param>
/// <param name="OffsetDeltasConsecutive">Offset deltas are 0..n-1 in order, so the batch can keep its bytes.</param>
/// <param name="HasRecordWithoutKey">Some record has a null key (a compacted topic refuses the batch).</param>
public readonly record struct RecordBatchFacts(
    long MaxTimestamp,
    long MinTimestamp,
    bool HasRecordWithoutTimestamp,
    bool OffsetDeltasConsecutive,
    bool HasRecordWithoutKey);

/// <summary>
/// Checks a batch arriving from a client (the produce path) with the error codes Kafka answers:
/// <list type="bullet">
/// <item>CORRUPT_MESSAGE: shorter than a v2 header, BatchLength not matching the bytes, CRC-32C
/// mismatch (Kafka's DefaultRecordBatch.ensureValid raises CorruptRecordException for these).</item>
/// <item>INVALID_RECORD: magic other than 2 (ProduceRequest.validateRecords raises
/// InvalidRecordException for v3+ requests, and Kafka 4 accepts only Produce v3+), base offset
/// not 0, control flag set, producer id without a base sequence, record count not matching the
/// offset range (LogValidator.validateBatch for client appends), and in the walk over the records
/// any malformed record, or records left over or missing after the header's record count
/// (DefaultRecordBatch's iterator: "Incorrect declared batch size").</item>
/// </list>
/// Offset deltas other than 0..n-1 are not an error: Kafka rebuilds such a compressed batch with
/// consecutive offsets, and so does Gregor's log (for uncompressed ones too, so that every stored
/// record sits at the offset the broker assigned it).
/// Two choices where Kafka gives no ApiException: an unknown compression id (5-7) and records
/// that fail to decompress are INVALID_RECORD. Kafka surfaces both as UNKNOWN_SERVER_ERROR; a
/// retriable code such as CORRUPT_MESSAGE would make producers resend the same bad bytes.
/// The uncompressed path allocates nothing unless it fails.
/// </summary>
public static class RecordBatchValidator
{
    public const short MinProduceVersionForZstd = 7;

    /// <summary>The header checks, and with <paramref name="deepCheck"/> the walk over the records too (<see cref="ValidateClientBatch"/>).</summary>
    public static ErrorCode Validate(ReadOnlySpan<byte> batch, out string? errorMessage, bool deepCheck)
    {
        if (!deepCheck)
        {
            return ValidateHeader(batch, out errorMessage);
        }

        return ValidateClientBatch(batch, out _, out errorMessage);
    }

    /// <summary>
    /// Everything Kafka's LogValidator checks in a client batch: the header, then every record,
    /// decompressing when needed (Kafka does the same, skipping only keys and values). On success
    /// <paramref name="facts"/> holds what the log needs to store the batch correctly.
    /// </summary>
    public static ErrorCode ValidateClientBatch(ReadOnlySpan<byte> batch, out RecordBatchFacts facts, out string? errorMessage)
    {
        facts = default;
        var error = ValidateHeader(batch, out errorMessage);
        if (error != ErrorCode.None)
        {
            return error;
        }

        var compression = RecordBatch.CompressionType(batch);
        var section = batch[RecordBatch.HeaderSize..];
        var baseTimestamp = RecordBatch.BaseTimestamp(batch);
        var recordCount = RecordBatch.RecordCount(batch);

        // As in Kafka's DefaultRecordBatch, every record of a LogAppendTime batch carries the header's max timestamp.
        long? logAppendTime = RecordBatch.TimestampType(batch) == TimestampType.LogAppendTime ? RecordBatch.MaxTimestamp(batch) : null;
        if (compression == CompressionType.None)
        {
            return WalkRecords(section, recordCount, baseTimestamp, logAppendTime, out facts, out errorMessage);
        }

        PooledBufferWriter decompressed;
        try
        {
            decompressed = RecordReader.Decompress(compression, section);
        }
        catch (InvalidRecordException e)
        {
            errorMessage = e.Message;
            return ErrorCode.InvalidRecord;
        }

        using (decompressed)
        {
            return WalkRecords(decompressed.WrittenSpan, recordCount, baseTimestamp, logAppendTime, out facts, out errorMessage);
        }
    }

    /// <summary>
    /// A produce request's records for one partition, whole: <see cref="ValidateProduceShape"/>, then
    /// the batch's integrity as <see cref="Validate"/>. Trailing bytes that are not a whole batch are
    /// CORRUPT_MESSAGE: Kafka silently trims them, but no client sends them and storing what we checked
    /// is simpler to reason about.
    /// </summary>
    public static ErrorCode ValidateProduceRecords(ReadOnlySpan<byte> records, out string? errorMessage, bool deepCheck)
    {
        var error = ValidateProduceShape(records, short.MaxValue, out errorMessage);
        if (error != ErrorCode.None)
        {
            return error;
        }

        var position = 0;
        if (RecordBatchReader.ReadNext(records, ref position, out _, out var size) != RecordBatchReadStatus.Batch)
        {
            // Let the single-batch checks name the precise problem (length, CRC).
            return Validate(records, out errorMessage, deepCheck);
        }

        if (position != records.Length)
        {
            errorMessage = $"{records.Length - size} bytes follow the record batch.";
            return ErrorCode.CorruptMessage;
        }

        return Validate(records[..size], out errorMessage, deepCheck);
    }

    /// <summary>
    /// Kafka's request-level rules for one partition of a v3+ produce (ProduceRequest.validateRecords),
    /// checked before any append: exactly one batch (INVALID_RECORD for none or several), magic 2
    /// (INVALID_RECORD) and no zstd before v7. Integrity (lengths, CRC) is not checked here: the log
    /// checks it once, on append, and answers CORRUPT_MESSAGE.
    /// </summary>
    public static ErrorCode ValidateProduceShape(ReadOnlySpan<byte> records, short produceVersion, out string? errorMessage)
    {
        errorMessage = null;
        var position = 0;
        var status = RecordBatchReader.ReadNext(records, ref position, out var start, out var size);
        if (status == RecordBatchReadStatus.End)
        {
            errorMessage = "Produce requests must have at least one record batch per partition.";
            return ErrorCode.InvalidRecord;
        }

        if (status != RecordBatchReadStatus.Batch)
        {
            return ErrorCode.None;
        }

        var batch = records.Slice(start, size);
        if (RecordBatch.Magic(batch) != RecordBatch.CurrentMagic)
        {
            errorMessage = "Produce requests are only allowed to contain record batches with magic version 2.";
            return ErrorCode.InvalidRecord;
        }

        var error = ValidateForProduceVersion(batch, produceVersion, out errorMessage);
        if (error != ErrorCode.None)
        {
            return error;
        }

        if (position != records.Length && RecordBatchReader.ReadNext(records, ref position, out _, out _) == RecordBatchReadStatus.Batch)
        {
            errorMessage = "Produce requests are only allowed to contain exactly one record batch per partition.";
            return ErrorCode.InvalidRecord;
        }

        return ErrorCode.None;
    }

    /// <summary>
    /// KIP-110: zstd needs Produce v7+, so an older request carrying a zstd batch is answered with
    /// UNSUPPORTED_COMPRESSION_TYPE, as Kafka's ProduceRequest.validateRecords does. For the handler,
    /// which alone knows the request version.
    /// </summary>
    public static ErrorCode ValidateForProduceVersion(ReadOnlySpan<byte> batch, short produceVersion, out string? errorMessage)
    {
        if (produceVersion < MinProduceVersionForZstd
            && batch.Length >= RecordBatch.HeaderSize
            && RecordBatch.CompressionType(batch) == CompressionType.Zstd)
        {
            errorMessage = $"Produce requests with version {produceVersion} are not allowed to use ZStandard compression.";
            return ErrorCode.UnsupportedCompressionType;
        }

        errorMessage = null;
        return ErrorCode.None;
    }

    private static ErrorCode ValidateHeader(ReadOnlySpan<byte> batch, out string? errorMessage)
    {
        errorMessage = null;
        if (batch.Length <= RecordBatch.MagicOffset)
        {
            errorMessage = $"Record batch is corrupt (the size {batch.Length} is smaller than the minimum allowed overhead {RecordBatch.HeaderSize}).";
            return ErrorCode.CorruptMessage;
        }

        var magic = RecordBatch.Magic(batch);
        if (magic != RecordBatch.CurrentMagic)
        {
            errorMessage = $"Produce requests are only allowed to contain record batches with magic version 2, not {magic}.";
            return ErrorCode.InvalidRecord;
        }

        if (batch.Length < RecordBatch.HeaderSize)
        {
            errorMessage = $"Record batch is corrupt (the size {batch.Length} is smaller than the minimum allowed overhead {RecordBatch.HeaderSize}).";
            return ErrorCode.CorruptMessage;
        }

        var batchLength = RecordBatch.BatchLength(batch);
        if ((long)batchLength + RecordBatch.LogOverhead != batch.Length)
        {
            errorMessage = $"Record batch length {batchLength} does not match the {batch.Length - RecordBatch.LogOverhead} bytes received.";
            return ErrorCode.CorruptMessage;
        }

        var stored = RecordBatch.Crc(batch);
        var computed = RecordBatch.ComputeCrc(batch);
        if (stored != computed)
        {
            errorMessage = $"Record batch is corrupt (stored crc = {stored}, computed crc = {computed}).";
            return ErrorCode.CorruptMessage;
        }

        if (RecordBatch.BaseOffset(batch) != 0)
        {
            errorMessage = $"The baseOffset of the record batch should be 0, but it is {RecordBatch.BaseOffset(batch)}.";
            return ErrorCode.InvalidRecord;
        }

        var compression = (byte)RecordBatch.CompressionType(batch);
        if (compression > (byte)CompressionType.Zstd)
        {
            errorMessage = $"Unknown compression type id {compression}.";
            return ErrorCode.InvalidRecord;
        }

        if (RecordBatch.IsControl(batch))
        {
            errorMessage = "Clients are not allowed to write control records.";
            return ErrorCode.InvalidRecord;
        }

        var lastOffsetDelta = RecordBatch.LastOffsetDelta(batch);
        if (lastOffsetDelta < 0)
        {
            errorMessage = $"Batch has an invalid offset range (last offset delta {lastOffsetDelta}).";
            return ErrorCode.InvalidRecord;
        }

        var recordCount = RecordBatch.RecordCount(batch);
        if ((long)recordCount != (long)lastOffsetDelta + 1)
        {
            errorMessage = $"Inconsistent batch offset range [0, {lastOffsetDelta}] and record count {recordCount}.";
            return ErrorCode.InvalidRecord;
        }

        if (RecordBatch.HasProducerId(batch) && RecordBatch.BaseSequence(batch) < 0)
        {
            errorMessage = $"Invalid sequence number {RecordBatch.BaseSequence(batch)} for a batch with producer id {RecordBatch.ProducerId(batch)}.";
            return ErrorCode.InvalidRecord;
        }

        return ErrorCode.None;
    }

    private static ErrorCode WalkRecords(ReadOnlySpan<byte> records, int recordCount, long baseTimestamp, long? logAppendTime, out RecordBatchFacts facts, out string? errorMessage)
    {
        facts = default;
        var maxTimestamp = RecordBatch.NoTimestamp;
        var minTimestamp = long.MaxValue;
        var withoutTimestamp = false;
        var consecutive = true;
        var withoutKey = false;
        var position = 0;
        for (var i = 0; i < recordCount; i++)
        {
            if (position >= records.Length)
            {
                errorMessage = $"Incorrect declared batch size, premature EOF reached after {i} of {recordCount} records.";
                return ErrorCode.InvalidRecord;
            }

            if (!Record.TryParse(records, ref position, out var record, out var error))
            {
                errorMessage = $"Record {i}: {error}";
                return ErrorCode.InvalidRecord;
            }

            var timestamp = logAppendTime ?? record.Timestamp(baseTimestamp);
            maxTimestamp = Math.Max(maxTimestamp, timestamp);
            if (timestamp == RecordBatch.NoTimestamp)
            {
                withoutTimestamp = true;
            }
            else
            {
                minTimestamp = Math.Min(minTimestamp, timestamp);
            }

            consecutive &= record.OffsetDelta == i;
            withoutKey |= !record.HasKey;
        }

        if (position != records.Length)
        {
            errorMessage = $"Incorrect declared batch size, {records.Length - position} bytes of records still remaining after {recordCount} records.";
            return ErrorCode.InvalidRecord;
        }

        facts = new RecordBatchFacts(maxTimestamp, minTimestamp, withoutTimestamp, consecutive, withoutKey);
        errorMessage = null;
        return ErrorCode.None;
    }

    /// <summary>
    /// Whether any record has a null key: a compacted topic refuses such a batch with INVALID_RECORD
    /// ("Compacted topic cannot accept message without key"). Decompresses when needed.
    /// </summary>
    /// <exception cref="InvalidRecordException">A malformed record.</exception>
    public static bool HasRecordWithoutKey(ReadOnlySpan<byte> batch)
    {
        using var reader = new RecordReader(batch);
        while (reader.TryReadNext(out var record))
        {
            if (!record.HasKey)
            {
                return true;
            }
        }

        return false;
    }
}
