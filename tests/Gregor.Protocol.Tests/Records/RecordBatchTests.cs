using System.Buffers.Binary;
using System.Text;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Protocol.Tests.Records;

public class RecordBatchTests
{
    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        // The CRC-32C check value for "123456789" (RFC 3720 appendix / the CRC catalogue).
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));

        // RFC 3720 B.4: 32 bytes of zeros.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void Header_accessors_read_what_the_builder_wrote()
    {
        var builder = new RecordBatchBuilder
        {
            BaseOffset = 1234567890123,
            PartitionLeaderEpoch = 77,
            ProducerId = 987654321,
            ProducerEpoch = 12,
            BaseSequence = 345,
            IsTransactional = true,
        };
        builder.Append(1_700_000_000_000, "k0"u8.ToArray(), "v0"u8.ToArray());
        builder.Append(1_700_000_000_500, "k1"u8.ToArray(), "v1"u8.ToArray());
        builder.Append(1_700_000_000_200, null, "v2"u8.ToArray());
        var batch = builder.Build();

        Assert.Equal(1234567890123, RecordBatch.BaseOffset(batch));
        Assert.Equal(batch.Length - 12, RecordBatch.BatchLength(batch));
        Assert.Equal(batch.Length, RecordBatch.SizeInBytes(batch));
        Assert.Equal(77, RecordBatch.PartitionLeaderEpoch(batch));
        Assert.Equal(2, RecordBatch.Magic(batch));
        Assert.Equal(Crc32C.Compute(batch.AsSpan(21)), RecordBatch.Crc(batch));
        Assert.Equal(0x10, RecordBatch.Attributes(batch));
        Assert.Equal(2, RecordBatch.LastOffsetDelta(batch));
        Assert.Equal(1234567890125, RecordBatch.LastOffset(batch));
        Assert.Equal(1_700_000_000_000, RecordBatch.BaseTimestamp(batch));
        Assert.Equal(1_700_000_000_500, RecordBatch.MaxTimestamp(batch));
        Assert.Equal(987654321, RecordBatch.ProducerId(batch));
        Assert.Equal(12, RecordBatch.ProducerEpoch(batch));
        Assert.Equal(345, RecordBatch.BaseSequence(batch));
        Assert.Equal(347, RecordBatch.LastSequence(batch));
        Assert.Equal(3, RecordBatch.RecordCount(batch));
        Assert.Equal(CompressionType.None, RecordBatch.CompressionType(batch));
        Assert.Equal(TimestampType.CreateTime, RecordBatch.TimestampType(batch));
        Assert.True(RecordBatch.IsTransactional(batch));
        Assert.False(RecordBatch.IsControl(batch));
        Assert.False(RecordBatch.HasDeleteHorizon(batch));
        Assert.True(RecordBatch.IsValid(batch));

        // The accessors are plain big-endian reads at Kafka's offsets.
        Assert.Equal(987654321, BinaryPrimitives.ReadInt64BigEndian(batch.AsSpan(43)));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(57)));
    }

    [Fact]
    public void Base_offset_and_leader_epoch_are_patched_in_place_without_touching_the_crc()
    {
        var batch = new RecordBatchBuilder().Append(5, null, "x"u8.ToArray()).Build();
        var crc = RecordBatch.Crc(batch);

        RecordBatch.SetBaseOffset(batch, 42);
        RecordBatch.SetPartitionLeaderEpoch(batch, 9);

        Assert.Equal(42, RecordBatch.BaseOffset(batch));
        Assert.Equal(9, RecordBatch.PartitionLeaderEpoch(batch));
        Assert.Equal(crc, RecordBatch.Crc(batch));
        Assert.True(RecordBatch.IsValid(batch));
    }

    [Fact]
    public void Log_append_time_sets_the_type_bit_and_max_timestamp_and_rewrites_the_crc()
    {
        var batch = new RecordBatchBuilder { CompressionType = CompressionType.Lz4 }.Append(5, null, "x"u8.ToArray()).Build();
        var crc = RecordBatch.Crc(batch);

        RecordBatch.SetMaxTimestamp(batch, 999);
        Assert.False(RecordBatch.IsValid(batch));

        RecordBatch.SetLogAppendTime(batch, 1_000_000);
        Assert.Equal(TimestampType.LogAppendTime, RecordBatch.TimestampType(batch));
        Assert.Equal(CompressionType.Lz4, RecordBatch.CompressionType(batch));
        Assert.Equal(1_000_000, RecordBatch.MaxTimestamp(batch));
        Assert.NotEqual(crc, RecordBatch.Crc(batch));
        Assert.True(RecordBatch.IsValid(batch));

        RecordBatch.SetTimestampType(batch, TimestampType.CreateTime);
        RecordBatch.SetAttributes(batch, (short)(RecordBatch.Attributes(batch) | RecordBatch.DeleteHorizonFlagMask | RecordBatch.ControlFlagMask));
        RecordBatch.RewriteCrc(batch);
        Assert.Equal(TimestampType.CreateTime, RecordBatch.TimestampType(batch));
        Assert.True(RecordBatch.HasDeleteHorizon(batch));
        Assert.True(RecordBatch.IsControl(batch));
        Assert.True(RecordBatch.IsValid(batch));
    }

    [Fact]
    public void Reader_walks_batches_and_reports_a_partial_tail()
    {
        var a = new RecordBatchBuilder().Append(1, "a"u8.ToArray(), "1"u8.ToArray()).Build();
        var b = new RecordBatchBuilder { BaseOffset = 1 }.Append(2, "b"u8.ToArray(), Encoding.UTF8.GetBytes(new string('x', 300))).Build();
        var blob = a.Concat(b).Concat(b.AsSpan(0, 40).ToArray()).ToArray();

        var position = 0;
        Assert.True(RecordBatchReader.TryReadNext(blob, ref position, out var start, out var size));
        Assert.Equal((0, a.Length), (start, size));
        Assert.True(RecordBatchReader.TryReadNext(blob, ref position, out start, out size));
        Assert.Equal((a.Length, b.Length), (start, size));
        Assert.False(RecordBatchReader.TryReadNext(blob, ref position, out start, out _));
        Assert.Equal(a.Length + b.Length, position);
        Assert.Equal(RecordBatchReadStatus.Partial, RecordBatchReader.ReadNext(blob, ref position, out _, out _));
        Assert.Equal(a.Length + b.Length, RecordBatchReader.ValidBytes(blob));

        // Fewer bytes than base offset + length is a partial tail too.
        var tiny = a.Concat(new byte[5]).ToArray();
        position = a.Length;
        Assert.Equal(RecordBatchReadStatus.Partial, RecordBatchReader.ReadNext(tiny, ref position, out _, out _));

        // A clean end.
        position = 0;
        var exact = a.Concat(b).ToArray();
        while (RecordBatchReader.TryReadNext(exact, ref position, out _, out _))
        {
        }

        Assert.Equal(exact.Length, position);
        Assert.Equal(RecordBatchReadStatus.End, RecordBatchReader.ReadNext(exact, ref position, out _, out _));
    }

    [Fact]
    public void Reader_calls_a_length_below_the_v2_header_corrupt()
    {
        var zeros = new byte[100];
        var position = 0;
        Assert.Equal(RecordBatchReadStatus.Corrupt, RecordBatchReader.ReadNext(zeros, ref position, out _, out _));
        Assert.Equal(0, position);
        Assert.Equal(0, RecordBatchReader.ValidBytes(zeros));
    }
}
