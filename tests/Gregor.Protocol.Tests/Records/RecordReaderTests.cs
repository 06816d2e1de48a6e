using System.Buffers.Binary;
using System.Text;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Protocol.Tests.Records;

public class RecordReaderTests
{
    public static TheoryData<CompressionType> Codecs() =>
        new() { CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd };

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Records_with_headers_null_keys_and_null_values_round_trip(CompressionType compression)
    {
        var builder = new RecordBatchBuilder { BaseOffset = 100, CompressionType = compression };
        builder.Append(1_000, "key-0"u8.ToArray(), "value-0"u8.ToArray(), [new("trace", "abc"u8.ToArray()), new("empty", []), new("null", null)]);
        builder.Append(990, null, "no key"u8.ToArray());
        builder.Append(1_010, "tombstone"u8.ToArray(), null);
        builder.Append(1_005, [], [], [new("ключ", [0xFF])]);
        var batch = builder.Build();
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(RebasedToZero(batch), out _, deepCheck: true));

        using var reader = new RecordReader(batch);
        Assert.Equal(100, reader.BaseOffset);
        Assert.Equal(4, reader.RecordCount);
        Assert.Equal(1_000, reader.BaseTimestamp);
        Assert.Equal(1_010, RecordBatch.MaxTimestamp(batch));

        Assert.True(reader.TryReadNext(out var r0));
        Assert.Equal(100, r0.Offset(reader.BaseOffset));
        Assert.Equal(1_000, r0.Timestamp(reader.BaseTimestamp));
        Assert.True(r0.HasKey);
        Assert.Equal("key-0", Encoding.UTF8.GetString(r0.Key));
        Assert.True(r0.HasValue);
        Assert.Equal("value-0", Encoding.UTF8.GetString(r0.Value));
        Assert.Equal(3, r0.HeaderCount);
        var headers = new List<string>();
        foreach (var header in r0.Headers)
        {
            headers.Add(header.Key + "=" + (header.HasValue ? Convert.ToHexString(header.Value) : "null"));
        }

        Assert.Equal(["trace=616263", "empty=", "null=null"], headers);

        Assert.True(reader.TryReadNext(out var r1));
        Assert.Equal(101, r1.Offset(reader.BaseOffset));
        Assert.Equal(-10, r1.TimestampDelta);
        Assert.False(r1.HasKey);
        Assert.Equal("no key", Encoding.UTF8.GetString(r1.Value));
        Assert.Equal(0, r1.HeaderCount);

        Assert.True(reader.TryReadNext(out var r2));
        Assert.Equal("tombstone", Encoding.UTF8.GetString(r2.Key));
        Assert.False(r2.HasValue);

        Assert.True(reader.TryReadNext(out var r3));
        Assert.True(r3.HasKey);
        Assert.True(r3.Key.IsEmpty);
        Assert.True(r3.HasValue);
        Assert.True(r3.Value.IsEmpty);
        var enumerator = r3.Headers;
        Assert.True(enumerator.MoveNext());
        Assert.Equal("ключ", enumerator.Current.Key);
        Assert.Equal([0xFF], enumerator.Current.Value.ToArray());
        Assert.False(enumerator.MoveNext());

        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void Record_bytes_follow_the_v2_layout()
    {
        var batch = new RecordBatchBuilder().Append(7, "k"u8.ToArray(), "vv"u8.ToArray(), [new("h", "x"u8.ToArray())]).Build();

        // length 13 (zig-zag 26), attributes 0, timestampDelta 0, offsetDelta 0, key length 1 (2)
        // 'k', value length 2 (4) "vv", 1 header (2): key length 1 (2) 'h', value length 1 (2) 'x'.
        byte[] expected = [26, 0, 0, 0, 2, (byte)'k', 4, (byte)'v', (byte)'v', 2, 2, (byte)'h', 2, (byte)'x'];
        Assert.Equal(expected, batch[RecordBatch.HeaderSize..]);
        Assert.Equal(RecordBatch.HeaderSize + expected.Length, batch.Length);
    }

    [Fact]
    public void Foreach_enumerates_every_record_in_order()
    {
        var builder = new RecordBatchBuilder { CompressionType = CompressionType.Zstd };
        for (var i = 0; i < 1000; i++)
        {
            builder.Append(5_000 + i, BitConverter.GetBytes(i), new byte[i % 50]);
        }

        var batch = builder.Build();
        using var reader = new RecordReader(batch);
        var expected = 0;
        foreach (var record in reader)
        {
            Assert.Equal(expected, record.OffsetDelta);
            Assert.Equal(expected, BitConverter.ToInt32(record.Key));
            Assert.Equal(expected % 50, record.Value.Length);
            Assert.Equal(5_000 + expected, record.Timestamp(reader.BaseTimestamp));
            expected++;
        }

        Assert.Equal(1000, expected);
    }

    [Fact]
    public void Control_records_decode()
    {
        var commit = RecordBatchBuilder.BuildControlBatch(ControlRecordType.Commit, producerId: 4000, producerEpoch: 3, coordinatorEpoch: 17, timestamp: 123, baseOffset: 55, partitionLeaderEpoch: 2);
        Assert.True(RecordBatch.IsValid(commit));
        Assert.True(RecordBatch.IsControl(commit));
        Assert.True(RecordBatch.IsTransactional(commit));
        Assert.Equal(4000, RecordBatch.ProducerId(commit));
        Assert.Equal(3, RecordBatch.ProducerEpoch(commit));
        Assert.Equal(-1, RecordBatch.BaseSequence(commit));
        Assert.Equal(55, RecordBatch.BaseOffset(commit));
        Assert.Equal(2, RecordBatch.PartitionLeaderEpoch(commit));
        Assert.Equal(0x30, RecordBatch.Attributes(commit));

        using var reader = new RecordReader(commit);
        Assert.True(reader.IsControl);
        Assert.True(reader.TryReadNext(out var record));
        Assert.Equal([0, 0, 0, 1], record.Key.ToArray());
        Assert.True(ControlRecord.TryReadType(record.Key, out var type));
        Assert.Equal(ControlRecordType.Commit, type);
        Assert.True(ControlRecord.TryReadCoordinatorEpoch(record.Value, out var coordinatorEpoch));
        Assert.Equal(17, coordinatorEpoch);
        Assert.False(reader.TryReadNext(out _));

        var abort = RecordBatchBuilder.BuildControlBatch(ControlRecordType.Abort, 4000, 3, 17, 123);
        using var abortReader = new RecordReader(abort);
        Assert.True(abortReader.TryReadNext(out var abortRecord));
        Assert.True(ControlRecord.TryReadType(abortRecord.Key, out type));
        Assert.Equal(ControlRecordType.Abort, type);

        Assert.False(ControlRecord.TryReadType([0, 0], out _));

        // A client may not write control batches.
        RecordBatch.SetBaseOffset(commit, 0);
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(commit, out _, deepCheck: false));
    }

    [Fact]
    public void A_malformed_record_throws_invalid_record()
    {
        var batch = new RecordBatchBuilder().Append(1, [1], [2]).Append(2, [3], [4]).Build();
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.RecordCountOffset), 3);
        var thrown = Assert.Throws<InvalidRecordException>(() =>
        {
            using var reader = new RecordReader(batch);
            while (reader.TryReadNext(out _))
            {
            }
        });
        Assert.Equal(ErrorCode.InvalidRecord, thrown.ErrorCode);

        var compressed = new RecordBatchBuilder { CompressionType = CompressionType.Lz4 }.Append(1, [1], [2]).Build();
        compressed[RecordBatch.HeaderSize] ^= 0xFF; // the LZ4 frame magic
        Assert.Throws<InvalidRecordException>(() =>
        {
            using var reader = new RecordReader(compressed);
        });
    }

    [Fact]
    public void Compaction_style_offset_gaps_are_kept_by_the_builder()
    {
        var batch = new RecordBatchBuilder { BaseOffset = 10 }
            .AppendWithOffsetDelta(0, 1, [1], [1])
            .AppendWithOffsetDelta(4, 1, [2], [2])
            .Build();
        Assert.Equal(2, RecordBatch.RecordCount(batch));
        Assert.Equal(4, RecordBatch.LastOffsetDelta(batch));
        Assert.Equal(14, RecordBatch.LastOffset(batch));
        using var reader = new RecordReader(batch);
        reader.TryReadNext(out _);
        reader.TryReadNext(out var second);
        Assert.Equal(14, second.Offset(reader.BaseOffset));
    }

    [Fact]
    public void A_decompression_bomb_is_refused_as_invalid_record()
    {
        // A few hundred kilobytes of zstd that inflate past the limit, streamed so the test itself
        // never holds the inflated bytes.
        var bomb = new MemoryStream();
        using (var zstd = new ZstdSharp.CompressionStream(bomb, 1, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < RecordReader.MaxDecompressedSize / zeros.Length + 8; i++)
            {
                zstd.Write(zeros);
            }
        }

        var header = new RecordBatchBuilder().Append(1, null, [0]).Build().AsSpan(0, RecordBatch.HeaderSize);
        var batch = new byte[RecordBatch.HeaderSize + bomb.Length];
        header.CopyTo(batch);
        bomb.ToArray().CopyTo(batch, RecordBatch.HeaderSize);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.BatchLengthOffset), batch.Length - RecordBatch.LogOverhead);
        RecordBatch.SetAttributes(batch, (short)CompressionType.Zstd);
        RecordBatch.RewriteCrc(batch);

        var thrown = Assert.Throws<InvalidRecordException>(() =>
        {
            using var reader = new RecordReader(batch);
        });
        Assert.Contains("limit", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(batch, out _, deepCheck: false));
        Assert.Equal(ErrorCode.InvalidRecord, RecordBatchValidator.Validate(batch, out _, deepCheck: true));
    }

    private static byte[] RebasedToZero(byte[] batch)
    {
        var copy = (byte[])batch.Clone();
        RecordBatch.SetBaseOffset(copy, 0);
        return copy;
    }
}
