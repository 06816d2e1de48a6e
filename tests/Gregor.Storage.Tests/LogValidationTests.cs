using System.Buffers.Binary;
using System.Text;
using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

/// <summary>
/// Kafka's LogValidator on hand-built client batches whose header fields are unset or wrong, as
/// real clients send them: the log stores them with the header the records imply (or refuses them
/// with Kafka's error code), indexes them correctly, and keeps taking writes.
/// </summary>
public sealed class LogValidationTests : IDisposable
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private readonly TempDirectory _temp = new("gregor-validation");

    private string PartitionDir => Path.Combine(_temp.Path, "orders-0");

    public void Dispose() => _temp.Dispose();

    private Log Open(params (string Key, string Value)[] config) =>
        Log.Open(PartitionDir, Config(config), TimeProvider.System);

    private static HandBuiltRecord Record(long timestampDelta, int offsetDelta, string value, int valueSize = 0)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (valueSize > bytes.Length)
        {
            Array.Resize(ref bytes, valueSize);
        }

        return new HandBuiltRecord(timestampDelta, offsetDelta, Encoding.UTF8.GetBytes("k" + value), bytes);
    }

    /// <summary>Three records at base timestamp + 0, 10, 20 whose header max timestamp is <paramref name="maxTimestamp"/>.</summary>
    private static byte[] ThreeRecords(long baseTimestamp, long maxTimestamp) =>
        WireEncoding.RecordBatchV2(baseTimestamp, maxTimestamp, lastOffsetDelta: 2, recordCount: 3,
            [Record(0, 0, "a"), Record(10, 1, "b"), Record(20, 2, "c")]);

    private static byte[] ReadBatchAt(Log log, long offset)
    {
        using var read = log.Read(offset, 1 << 20, long.MaxValue, minOneBatch: true);
        var data = read.Records.Span;
        var position = 0;
        Assert.True(RecordBatchReader.TryReadNext(data, ref position, out var start, out var size));
        return data.Slice(start, size).ToArray();
    }

    [Fact]
    public void Max_timestamp_of_minus_one_in_every_batch_is_taken_from_the_records_and_the_partition_keeps_taking_writes()
    {
        // sarama 1.22's shape: one 5,000-byte record per batch, header max timestamp never filled in.
        // With index.interval.bytes at its default of 4096 the second append is due an index entry.
        using (var log = Open())
        {
            for (var i = 0; i < 3; i++)
            {
                var batch = WireEncoding.RecordBatchV2(Now + i * 100, RecordBatch.NoTimestamp, 0, 1, [Record(0, 0, $"r{i}", valueSize: 5_000)]);
                var info = log.Append(batch, leaderEpoch: 0);
                Assert.Equal(ErrorCode.None, info.Error);
                Assert.Equal(i, info.FirstOffset);
                Assert.Equal(Now + i * 100, info.MaxTimestamp);
            }

            Assert.Equal(3, log.LogEndOffset);
            for (var i = 0; i < 3; i++)
            {
                var stored = ReadBatchAt(log, i);
                Assert.Equal(Now + i * 100, RecordBatch.MaxTimestamp(stored));
                Assert.True(RecordBatch.IsValid(stored), "the rewritten header needs a matching CRC-32C");
            }

            Assert.Equal(new TimestampAndOffset(Now + 100, 1, 0), log.FetchOffsetByTimestamp(Now + 50));
            Assert.Equal(new TimestampAndOffset(Now + 200, 2, 0), log.FetchOffsetByTimestamp(Log.MaxTimestampQuery));
            Assert.Equal(3, log.Append(Batch(1, Now + 300), 0).FirstOffset);
        }

        // The time index written for them survives a restart.
        using var reopened = Open();
        Assert.Equal(4, reopened.LogEndOffset);
        Assert.Equal(2, reopened.FetchOffsetByTimestamp(Now + 150).Offset);
    }

    [Theory]
    [InlineData(RecordBatch.NoTimestamp)]
    [InlineData(0L)]
    [InlineData(10L)] // the base timestamp: a client that copied it
    [InlineData(500L)] // later than any record
    public void A_max_timestamp_that_disagrees_with_the_records_is_rewritten_with_its_crc(long headerMaxOffset)
    {
        var headerMax = headerMaxOffset <= 0 ? headerMaxOffset : Now + headerMaxOffset;
        var batch = ThreeRecords(Now + 10, headerMax);
        var sent = (byte[])batch.Clone();
        using var log = Open();

        Assert.Equal(ErrorCode.None, log.Append(batch, 0).Error);

        var stored = ReadBatchAt(log, 0);
        Assert.Equal(Now + 30, RecordBatch.MaxTimestamp(stored));
        Assert.True(RecordBatch.IsValid(stored));

        // Only the max timestamp and the CRC changed; the records are the bytes the client sent.
        Assert.Equal(sent[RecordBatch.AttributesOffset..RecordBatch.MaxTimestampOffset], stored[RecordBatch.AttributesOffset..RecordBatch.MaxTimestampOffset]);
        Assert.Equal(sent[RecordBatch.ProducerIdOffset..], stored[RecordBatch.ProducerIdOffset..]);
        Assert.Equal(1, log.FetchOffsetByTimestamp(Now + 15).Offset);
    }

    [Fact]
    public void A_well_formed_batch_is_stored_as_sent()
    {
        var batch = ThreeRecords(Now, Now + 20);
        var sent = (byte[])batch.Clone();
        using var log = Open();
        log.Append(Batch(2, Now), 4);

        Assert.Equal(ErrorCode.None, log.Append(batch, 4).Error);

        // Base offset and partition leader epoch are written in place (outside the CRC); nothing else moves.
        var stored = ReadBatchAt(log, 2);
        Assert.Equal(2, RecordBatch.BaseOffset(stored));
        Assert.Equal(4, RecordBatch.PartitionLeaderEpoch(stored));
        Assert.Equal(sent[RecordBatch.BatchLengthOffset..RecordBatch.PartitionLeaderEpochOffset], stored[RecordBatch.BatchLengthOffset..RecordBatch.PartitionLeaderEpochOffset]);
        Assert.Equal(sent[RecordBatch.MagicOffset..], stored[RecordBatch.MagicOffset..]);
    }

    [Fact]
    public void A_base_timestamp_of_zero_with_absolute_timestamp_deltas_is_stored_and_found_by_time()
    {
        // The records' timestamps are base + delta whatever the client put in the base; Kafka keeps
        // the base as sent, checks every record's own timestamp and takes the max from them.
        var batch = WireEncoding.RecordBatchV2(0, RecordBatch.NoTimestamp, 2, 3,
            [Record(Now, 0, "a"), Record(Now + 5, 1, "b"), Record(Now + 10, 2, "c")]);
        using var log = Open(("message.timestamp.before.max.ms", "3600000"));

        Assert.Equal(ErrorCode.None, log.Append(batch, 0).Error);

        var stored = ReadBatchAt(log, 0);
        Assert.Equal(0, RecordBatch.BaseTimestamp(stored));
        Assert.Equal(Now + 10, RecordBatch.MaxTimestamp(stored));
        Assert.Equal(new TimestampAndOffset(Now + 5, 1, 0), log.FetchOffsetByTimestamp(Now + 1));
        Assert.Equal(3, log.Append(Batch(1, Now), 0).FirstOffset);
    }

    public static TheoryData<string, int, int, int, string> CountsThatDisagree() => new()
    {
        // (case, last offset delta, record count, records present, message)
        { "offset range wider than the count", 5, 3, 3, "Inconsistent batch offset range" },
        { "count of zero", -1, 0, 1, "invalid offset range" },
        { "more records declared than present", 3, 4, 3, "premature EOF" },
        { "fewer records declared than present", 1, 2, 3, "still remaining" },
    };

    [Theory]
    [MemberData(nameof(CountsThatDisagree))]
    public void Header_counts_that_disagree_with_the_records_get_invalid_record_and_append_nothing(
        string name, int lastOffsetDelta, int recordCount, int present, string message)
    {
        var records = Enumerable.Range(0, present).Select(i => Record(i, i, $"r{i}")).ToArray();
        var batch = WireEncoding.RecordBatchV2(Now, Now + present - 1, lastOffsetDelta, recordCount, records);
        using var log = Open();
        log.Append(Batch(1, Now), 0);

        var info = log.Append(batch, 0);

        Assert.True(info.Error == ErrorCode.InvalidRecord, $"{name}: {info.Error} {info.ErrorMessage}");
        Assert.Contains(message, info.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, log.LogEndOffset);
        Assert.Equal(new FileInfo(Path.Combine(PartitionDir, "00000000000000000000.log")).Length, log.Size);
        Assert.Equal(1, log.Append(Batch(2, Now), 0).FirstOffset);
        Assert.Equal(3, log.LogEndOffset);
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Lz4)]
    public void Offset_deltas_out_of_order_are_rebuilt_so_every_record_sits_at_its_assigned_offset(CompressionType compression)
    {
        var builder = new RecordBatchBuilder { CompressionType = compression };
        builder.AppendWithOffsetDelta(0, Now, "k"u8.ToArray(), "a"u8.ToArray());
        builder.AppendWithOffsetDelta(2, Now + 1, "k"u8.ToArray(), "b"u8.ToArray());
        builder.AppendWithOffsetDelta(1, Now + 2, "k"u8.ToArray(), "c"u8.ToArray());
        var batch = builder.Build();
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.LastOffsetDeltaOffset), 2);
        RecordBatch.RewriteCrc(batch);
        using var log = Open();
        log.Append(Batch(1, Now, tag: "x"), 0);

        var info = log.Append(batch, 0);

        Assert.Equal(ErrorCode.None, info.Error);
        Assert.Equal((1L, 3L), (info.FirstOffset, info.LastOffset));
        Assert.Equal(new SortedDictionary<long, string> { [0] = "vx-0", [1] = "a", [2] = "b", [3] = "c" }, ReadAll(log));
        var stored = ReadBatchAt(log, 1);
        Assert.Equal(compression, RecordBatch.CompressionType(stored));
        Assert.Equal(Now + 2, RecordBatch.MaxTimestamp(stored));
    }

    [Fact]
    public void A_record_timestamp_out_of_range_is_invalid_timestamp_even_when_the_header_hides_it()
    {
        // The header claims the batch spans [now, now + 20 ms]; the middle record is two hours ahead.
        var batch = WireEncoding.RecordBatchV2(Now, Now + 20, 2, 3,
            [Record(0, 0, "a"), Record(7_200_000, 1, "b"), Record(20, 2, "c")]);
        using var log = Open(("message.timestamp.after.max.ms", "3600000"));

        var info = log.Append(batch, 0);

        Assert.Equal(ErrorCode.InvalidTimestamp, info.Error);
        Assert.Equal(0, log.LogEndOffset);
        Assert.Equal(ErrorCode.None, log.Append(ThreeRecords(Now, Now + 20), 0).Error);
    }

    [Fact]
    public void A_producer_may_not_claim_log_append_time()
    {
        // Kafka lets a CreateTime topic keep such a batch (every record has a timestamp) as
        // CreateTime, and refuses it on a LogAppendTime topic.
        var claimed = WireEncoding.RecordBatchV2(Now, Now + 20, 2, 3,
            [Record(0, 0, "a"), Record(10, 1, "b"), Record(20, 2, "c")], attributes: RecordBatch.TimestampTypeMask);
        using (var log = Open())
        {
            Assert.Equal(ErrorCode.None, log.Append((byte[])claimed.Clone(), 0).Error);
            var stored = ReadBatchAt(log, 0);
            Assert.Equal(TimestampType.CreateTime, RecordBatch.TimestampType(stored));
            Assert.True(RecordBatch.IsValid(stored));
        }

        using var logAppendTime = Log.Open(Path.Combine(_temp.Path, "stamped-0"),
            Config(("message.timestamp.type", "LogAppendTime")), TimeProvider.System);
        Assert.Equal(ErrorCode.InvalidTimestamp, logAppendTime.Append((byte[])claimed.Clone(), 0).Error);
        Assert.Equal(ErrorCode.None, logAppendTime.Append(ThreeRecords(Now, Now + 20), 0).Error);
    }

    [Fact]
    public void A_failure_after_the_segment_write_cuts_the_segment_back_and_the_next_append_succeeds()
    {
        using var log = Open(("index.interval.bytes", "100"));
        LogSegment? active = null;
        log.AfterSegmentWrite = segment => active = segment;
        for (var i = 0; i < 5; i++)
        {
            log.Append(Batch(2, Now + i, valueSize: 100), leaderEpoch: 1);
        }

        Assert.NotNull(active);
        var logFile = Path.Combine(PartitionDir, "00000000000000000000.log");
        var sizeBefore = new FileInfo(logFile).Length;
        var (offsetEntries, timeEntries) = (active.OffsetIndex.Entries, active.TimeIndex.Entries);
        log.AfterSegmentWrite = segment =>
        {
            Assert.True(new FileInfo(logFile).Length > sizeBefore, "the seam runs once the bytes are in the file");
            Assert.True(segment.OffsetIndex.Entries > offsetEntries && segment.TimeIndex.Entries > timeEntries, "and indexed");
            throw new IOException("injected: the disk went away after the write");
        };

        // A new leader epoch as well, so the epoch cache must be put back too.
        var thrown = Assert.Throws<KafkaStorageException>(() => log.Append(Batch(3, Now + 10, valueSize: 100), leaderEpoch: 2));

        Assert.False(thrown.LogOffline);
        Assert.False(log.IsOffline);
        Assert.Equal(10, log.LogEndOffset);
        Assert.Equal(sizeBefore, new FileInfo(logFile).Length);
        Assert.Equal(sizeBefore, log.Size);
        Assert.Equal(offsetEntries, active.OffsetIndex.Entries);
        Assert.Equal(timeEntries, active.TimeIndex.Entries);
        Assert.Equal(1, log.LeaderEpochCache.LatestEpoch);

        log.AfterSegmentWrite = null;
        var retry = log.Append(Batch(3, Now + 10, tag: "retry", valueSize: 100), leaderEpoch: 2);
        Assert.Equal((10L, 12L), (retry.FirstOffset, retry.LastOffset));
        Assert.Equal(2, log.LeaderEpochCache.LatestEpoch);
        Assert.Equal("vretry-0", ReadAll(log)[10]);
        Assert.Equal(new TimestampAndOffset(Now + 10, 10, 2), log.FetchOffsetByTimestamp(Now + 10));
        log.Close();

        // Nothing of the failed append comes back on restart either.
        using var reopened = Open(("index.interval.bytes", "100"));
        Assert.Equal(13, reopened.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 13).Select(i => (long)i), ReadAll(reopened).Keys);
    }

    [Fact]
    public void A_failure_that_cannot_be_undone_takes_the_log_offline()
    {
        using var log = Open(("index.interval.bytes", "100"));
        log.Append(Batch(2, Now, valueSize: 100), 0);

        // Closing the segment's files under the append makes cutting them back impossible.
        log.AfterSegmentWrite = segment =>
        {
            segment.Dispose();
            throw new IOException("injected: the disk went away after the write");
        };

        var thrown = Assert.Throws<KafkaStorageException>(() => log.Append(Batch(2, Now, valueSize: 100), 0));

        Assert.True(thrown.LogOffline);
        Assert.True(log.IsOffline);
        Assert.Equal(2, log.LogEndOffset);
        log.AfterSegmentWrite = null;
        Assert.True(Assert.Throws<KafkaStorageException>(() => log.Append(Batch(1, Now), 0)).LogOffline);
        Assert.Throws<KafkaStorageException>(() => log.Read(0, 1000, long.MaxValue, minOneBatch: true));
    }
}
