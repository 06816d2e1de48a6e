using System.Buffers.Binary;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Protocol.Tests.Records;

public class RecordBatchValidatorTests
{
    private static byte[] ProducedBatch(CompressionType compression = CompressionType.None, int records = 3)
    {
        var builder = new RecordBatchBuilder { CompressionType = compression, ProducerId = 1000, ProducerEpoch = 0, BaseSequence = 0 };
        for (var i = 0; i < records; i++)
        {
            builder.Append(1_700_000_000_000 + i, [(byte)('k' + i)], [(byte)i, 1, 2, 3]);
        }

        return builder.Build();
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void A_built_batch_validates(CompressionType compression)
    {
        var batch = ProducedBatch(compression);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(batch, out var message, deepCheck: false));
        Assert.Null(message);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(batch, out message, deepCheck: true));
        Assert.Null(message);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.ValidateProduceRecords(batch, out _, deepCheck: true));
    }

    [Fact]
    public void Every_flipped_byte_in_the_crc_range_is_corrupt_message()
    {
        var batch = ProducedBatch();
        for (var i = RecordBatch.AttributesOffset; i < batch.Length; i++)
        {
            var copy = (byte[])batch.Clone();
            copy[i] ^= 0x01;
            Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.Validate(copy, out var message, deepCheck: true));
            Assert.Contains("crc", message, StringComparison.Ordinal);
        }

        var crcFlipped = (byte[])batch.Clone();
        crcFlipped[RecordBatch.CrcOffset + 2] ^= 0x80;
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.Validate(crcFlipped, out _, deepCheck: false));
    }

    [Fact]
    public void Size_problems_are_corrupt_message()
    {
        var batch = ProducedBatch();
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.Validate(batch.AsSpan(0, 10), out _, false));
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.Validate(batch.AsSpan(0, 60), out _, false));
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.Validate(batch.AsSpan(0, batch.Length - 1), out _, false));

        var longer = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(longer.AsSpan(RecordBatch.BatchLengthOffset), RecordBatch.BatchLength(batch) + 1);
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.Validate(longer, out _, false));
    }

    [Fact]
    public void Old_magic_is_invalid_record()
    {
        var batch = ProducedBatch();
        batch[RecordBatch.MagicOffset] = 1;
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(batch, out var message, false));
        Assert.Contains("magic", message, StringComparison.Ordinal);

        // A magic 0 message set is shorter than a v2 header; its magic still decides.
        var v0 = new byte[30];
        v0[RecordBatch.MagicOffset] = 0;
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(v0, out _, false));
    }

    [Fact]
    public void Header_rules_for_client_batches_are_invalid_record()
    {
        AssertInvalid(b => RecordBatch.SetBaseOffset(b, 5), "baseOffset", rewriteCrc: false);
        AssertInvalid(b => BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.RecordCountOffset), 2), "record count");
        AssertInvalid(b => BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.LastOffsetDeltaOffset), -1), "offset range");
        AssertInvalid(b => BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.BaseSequenceOffset), -1), "sequence");
        AssertInvalid(b => RecordBatch.SetAttributes(b, RecordBatch.ControlFlagMask), "control");
        AssertInvalid(b => RecordBatch.SetAttributes(b, 6), "compression");

        static void AssertInvalid(Action<byte[]> corrupt, string expected, bool rewriteCrc = true)
        {
            var batch = ProducedBatch();
            corrupt(batch);
            if (rewriteCrc)
            {
                RecordBatch.RewriteCrc(batch);
            }

            Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(batch, out var message, deepCheck: false));
            Assert.Contains(expected, message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Zstd)]
    public void Offset_deltas_are_checked_by_count_and_reported_when_out_of_order(CompressionType compression)
    {
        var builder = new RecordBatchBuilder { CompressionType = compression };
        builder.AppendWithOffsetDelta(0, 10, null, [1]);
        builder.AppendWithOffsetDelta(2, 10, null, [2]);
        builder.AppendWithOffsetDelta(3, 10, null, [3]);
        var batch = builder.Build();

        // The header alone is consistent only if count == lastOffsetDelta + 1, so patch the count
        // to 4 to get past the shallow check: the walk then finds three records, not four.
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.RecordCountOffset), 4);
        RecordBatch.RewriteCrc(batch);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(batch, out _, deepCheck: false));
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(batch, out var message, deepCheck: true));
        Assert.Contains("premature EOF", message, StringComparison.Ordinal);

        // Kafka accepts a batch whose deltas are out of order (and rebuilds it): the walk says so.
        var swapped = new RecordBatchBuilder { CompressionType = compression };
        swapped.AppendWithOffsetDelta(1, 10, null, [1]);
        swapped.AppendWithOffsetDelta(0, 12, null, [2]);
        var batch2 = swapped.Build();
        BinaryPrimitives.WriteInt32BigEndian(batch2.AsSpan(RecordBatch.LastOffsetDeltaOffset), 1);
        RecordBatch.RewriteCrc(batch2);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.ValidateClientBatch(batch2, out var facts, out _));
        Assert.False(facts.OffsetDeltasConsecutive);
        Assert.True(facts.HasRecordWithoutKey);
        Assert.Equal((12L, 10L), (facts.MaxTimestamp, facts.MinTimestamp));
        Assert.Equal(ErrorCode.None, RecordBatchValidator.ValidateClientBatch(ProducedBatch(compression), out facts, out _));
        Assert.True(facts.OffsetDeltasConsecutive);
    }

    [Fact]
    public void Malformed_records_are_invalid_record_on_a_deep_check()
    {
        var batch = ProducedBatch(records: 2);

        // The first record's length varint (zig-zag) sits right after the header; make it claim more.
        var tooLong = (byte[])batch.Clone();
        tooLong[RecordBatch.HeaderSize] += 2;
        RecordBatch.RewriteCrc(tooLong);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(tooLong, out _, deepCheck: false));
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(tooLong, out _, deepCheck: true));

        // More records declared than present.
        var missing = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(missing.AsSpan(RecordBatch.RecordCountOffset), 3);
        BinaryPrimitives.WriteInt32BigEndian(missing.AsSpan(RecordBatch.LastOffsetDeltaOffset), 2);
        RecordBatch.RewriteCrc(missing);
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(missing, out var message, deepCheck: true));
        Assert.Contains("premature EOF", message, StringComparison.Ordinal);

        // Fewer records declared than present.
        var extra = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(extra.AsSpan(RecordBatch.RecordCountOffset), 1);
        BinaryPrimitives.WriteInt32BigEndian(extra.AsSpan(RecordBatch.LastOffsetDeltaOffset), 0);
        RecordBatch.RewriteCrc(extra);
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(extra, out message, deepCheck: true));
        Assert.Contains("remaining", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Undecompressable_records_are_invalid_record()
    {
        var batch = ProducedBatch(CompressionType.Gzip);
        batch[RecordBatch.HeaderSize + 12] ^= 0xFF;
        batch[RecordBatch.HeaderSize + 13] ^= 0xFF;
        RecordBatch.RewriteCrc(batch);
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(batch, out var message, deepCheck: true));
        Assert.Contains("decompress", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Produce_records_hold_exactly_one_batch()
    {
        var batch = ProducedBatch();
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.ValidateProduceRecords([], out _, false));
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.ValidateProduceRecords(batch.Concat(batch).ToArray(), out var message, false));
        Assert.Contains("exactly one", message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.ValidateProduceRecords(batch.Concat(new byte[7]).ToArray(), out _, false));
        Assert.Equal(ErrorCode.CorruptMessage, RecordBatchValidator.ValidateProduceRecords(batch.AsSpan(0, batch.Length - 3), out _, false));
    }

    [Fact]
    public void Zstd_needs_produce_v7()
    {
        var zstd = ProducedBatch(CompressionType.Zstd);
        Assert.Equal(ErrorCode.UnsupportedCompressionType, RecordBatchValidator.ValidateForProduceVersion(zstd, 6, out var message));
        Assert.Contains("ZStandard", message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.ValidateForProduceVersion(zstd, 7, out _));
        Assert.Equal(ErrorCode.None, RecordBatchValidator.ValidateForProduceVersion(ProducedBatch(CompressionType.Lz4), 3, out _));
    }

    [Fact]
    public void Records_without_keys_are_found()
    {
        Assert.False(RecordBatchValidator.HasRecordWithoutKey(ProducedBatch()));
        var batch = new RecordBatchBuilder { CompressionType = CompressionType.Snappy }
            .Append(1, [1], [1])
            .Append(2, null, [2])
            .Build();
        Assert.True(RecordBatchValidator.HasRecordWithoutKey(batch));

        // An empty key is a key.
        Assert.False(RecordBatchValidator.HasRecordWithoutKey(new RecordBatchBuilder().Append(1, [], null).Build()));
    }

    [Fact]
    public void The_shallow_check_of_an_uncompressed_batch_does_not_allocate()
    {
        var batch = ProducedBatch(records: 50);
        RecordBatchValidator.Validate(batch, out _, deepCheck: true);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            RecordBatchValidator.Validate(batch, out _, deepCheck: false);
            RecordBatchValidator.Validate(batch, out _, deepCheck: true);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
