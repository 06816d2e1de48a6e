using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class LogTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-storage");

    private string PartitionDir => Path.Combine(_temp.Path, "orders-0");

    public void Dispose() => _temp.Dispose();

    private Log Open(LogConfig? config = null, long recoveryPoint = 0, bool clean = false) =>
        Log.Open(PartitionDir, config ?? Config(("segment.bytes", "1024"), ("index.interval.bytes", "100")), TimeProvider.System,
            recoveryPoint: recoveryPoint, hadCleanShutdown: clean);

    [Fact]
    public void Append_assigns_contiguous_offsets_across_many_segments_and_reads_them_back()
    {
        using var log = Open();
        var expected = new SortedDictionary<long, string>();
        long next = 0;
        for (var b = 0; b < 200; b++)
        {
            var count = b % 5 + 1;
            var info = log.Append(Batch(count, 1_000 + b * 10, tag: b.ToString(System.Globalization.CultureInfo.InvariantCulture)), leaderEpoch: 3);
            Assert.Equal(ErrorCode.None, info.Error);
            Assert.Equal(next, info.FirstOffset);
            Assert.Equal(next + count - 1, info.LastOffset);
            Assert.Equal(count, info.RecordCount);
            Assert.Equal(-1, info.LogAppendTime);
            for (var i = 0; i < count; i++)
            {
                expected[next + i] = $"v{b}-{i}";
            }

            next += count;
        }

        Assert.Equal(next, log.LogEndOffset);
        Assert.True(log.SegmentCount > 10, $"expected many segments, got {log.SegmentCount}");
        Assert.Equal(expected, ReadAll(log));

        // Segment files are named by their 20-digit base offset and follow each other.
        var logFiles = Directory.GetFiles(PartitionDir, "*.log").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(log.SegmentCount, logFiles.Count);
        Assert.All(logFiles, f => Assert.Matches(@"^\d{20}\.log$", f));
        Assert.Equal("00000000000000000000.log", logFiles[0]);
        Assert.Equal(log.SegmentBaseOffsets.Select(o => $"{o:D20}.log"), logFiles);
    }

    [Fact]
    public void Appended_batches_get_base_offset_and_leader_epoch_written_in_place()
    {
        using var log = Open();
        log.Append(Batch(3), leaderEpoch: 7);
        var second = Batch(2);
        log.Append(second, leaderEpoch: 7);
        Assert.Equal(3, RecordBatch.BaseOffset(second));
        Assert.Equal(7, RecordBatch.PartitionLeaderEpoch(second));
        Assert.True(RecordBatch.IsValid(second));

        using var read = log.Read(3, 10_000, long.MaxValue, minOneBatch: true);
        Assert.Equal(second, read.Records.ToArray());
        Assert.Equal(7, log.LeaderEpochCache.LatestEpoch);
    }

    [Fact]
    public void Read_of_an_offset_inside_a_batch_returns_that_whole_batch()
    {
        using var log = Open(Config());
        log.Append(Batch(5, tag: "a"), 0);
        log.Append(Batch(5, tag: "b"), 0);
        using var read = log.Read(7, 100_000, long.MaxValue, minOneBatch: false);
        Assert.Equal(5, read.FirstOffset);
        Assert.Equal([(5L, 9L, 5)], Batches(read.Records.Span));
    }

    [Fact]
    public void Read_respects_maxBytes_with_whole_batches_and_minOneBatch()
    {
        using var log = Open(Config());
        var sizes = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            var batch = Batch(3, valueSize: 100);
            sizes.Add(batch.Length);
            log.Append(batch, 0);
        }

        // Room for one and a half batches: only the first, never a partial one.
        using (var read = log.Read(0, sizes[0] + sizes[1] / 2, long.MaxValue, minOneBatch: false))
        {
            Assert.Equal([(0L, 2L, 3)], Batches(read.Records.Span));
        }

        // Exactly two batches.
        using (var read = log.Read(0, sizes[0] + sizes[1], long.MaxValue, minOneBatch: false))
        {
            Assert.Equal(2, Batches(read.Records.Span).Count);
        }

        // Smaller than one batch: nothing, unless minOneBatch.
        using (var read = log.Read(3, 10, long.MaxValue, minOneBatch: false))
        {
            Assert.Equal(0, read.Length);
            Assert.Equal(ErrorCode.None, read.Error);
        }

        using (var read = log.Read(3, 10, long.MaxValue, minOneBatch: true))
        {
            Assert.Equal([(3L, 5L, 3)], Batches(read.Records.Span));
        }
    }

    [Fact]
    public void Read_stops_below_maxOffsetExclusive_and_rejects_out_of_range()
    {
        using var log = Open(Config());
        log.Append(Batch(2), 0);
        log.Append(Batch(2), 0);
        log.Append(Batch(2), 0);
        log.HighWatermark = 4;
        Assert.Equal(4, log.HighWatermark);

        using (var read = log.Read(0, 100_000, log.HighWatermark, minOneBatch: true))
        {
            Assert.Equal([(0L, 1L, 2), (2L, 3L, 2)], Batches(read.Records.Span));
            Assert.Equal(4, read.HighWatermark);
            Assert.Equal(6, read.LogEndOffset);
        }

        using (var atEnd = log.Read(6, 100, long.MaxValue, true))
        {
            Assert.Equal(ErrorCode.None, atEnd.Error);
            Assert.Equal(0, atEnd.Length);
        }

        using (var beyond = log.Read(7, 100, long.MaxValue, true))
        {
            Assert.Equal(ErrorCode.OffsetOutOfRange, beyond.Error);
        }

        log.HighWatermark = 100;
        Assert.Equal(6, log.HighWatermark);
        Assert.Equal(ErrorCode.None, log.DeleteRecordsBefore(2));
        using (var below = log.Read(1, 100, long.MaxValue, true))
        {
            Assert.Equal(ErrorCode.OffsetOutOfRange, below.Error);
            Assert.Equal(2, below.LogStartOffset);
        }
    }

    [Fact]
    public void Bad_crc_batch_among_good_ones_appends_nothing()
    {
        using var log = Open(Config());
        log.Append(Batch(1), 0);
        var bad = Batch(2);
        bad[^1] ^= 0x55;
        var result = log.Append(Concat(Batch(3), bad, Batch(1)), 0);
        Assert.Equal(ErrorCode.CorruptMessage, result.Error);
        Assert.NotNull(result.ErrorMessage);
        Assert.Equal(-1, result.FirstOffset);
        Assert.Equal(1, log.LogEndOffset);
        Assert.Equal(Batches(ReadOne(log, 0)), [(0L, 0L, 1)]);
        Assert.Equal(new FileInfo(Path.Combine(PartitionDir, "00000000000000000000.log")).Length, log.Size);
    }

    [Fact]
    public void Trailing_partial_batch_is_corrupt_message()
    {
        using var log = Open(Config());
        var data = Concat(Batch(2), Batch(2)[..30]);
        Assert.Equal(ErrorCode.CorruptMessage, log.Append(data, 0).Error);
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public void Batch_larger_than_max_message_bytes_is_message_too_large()
    {
        using var log = Open(Config(("max.message.bytes", "500")));
        var result = log.Append(Concat(Batch(1), Batch(10, valueSize: 100)), 0);
        Assert.Equal(ErrorCode.MessageTooLarge, result.Error);
        Assert.Equal(0, log.LogEndOffset);
        Assert.Equal(0, log.Size);
        Assert.Equal(ErrorCode.None, log.Append(Batch(1), 0).Error);
    }

    [Fact]
    public void LogAppendTime_sets_max_timestamp_and_type_and_keeps_crc_valid()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var log = Open(Config(("message.timestamp.type", "LogAppendTime")));
        var batch = Batch(3, firstTimestamp: 5);
        var info = log.Append(batch, 0);
        Assert.True(info.LogAppendTime >= now, $"{info.LogAppendTime} < {now}");
        Assert.Equal(info.LogAppendTime, info.MaxTimestamp);
        var stored = ReadOne(log, 0);
        Assert.Equal(TimestampType.LogAppendTime, RecordBatch.TimestampType(stored));
        Assert.Equal(info.LogAppendTime, RecordBatch.MaxTimestamp(stored));
        Assert.True(RecordBatch.IsValid(stored));
    }

    [Fact]
    public void Follower_append_keeps_offsets_and_rejects_offsets_below_the_log_end()
    {
        using var log = Open(Config());
        var batch = Batch(3);
        RecordBatch.SetBaseOffset(batch, 10);
        RecordBatch.SetPartitionLeaderEpoch(batch, 4);
        // Gaps are legal for a follower (compacted leaders); the log end follows the batch.
        var info = log.Append(batch, leaderEpoch: 4, assignOffsets: false);
        Assert.Equal(ErrorCode.None, info.Error);
        Assert.Equal(10, info.FirstOffset);
        Assert.Equal(13, log.LogEndOffset);
        Assert.Equal((4, 13L), log.LeaderEpochCache.EndOffsetFor(4, log.LogEndOffset));

        var old = Batch(1);
        RecordBatch.SetBaseOffset(old, 12);
        Assert.NotEqual(ErrorCode.None, log.Append(old, 4, assignOffsets: false).Error);
        Assert.Equal(13, log.LogEndOffset);
    }

    [Fact]
    public void Truncate_removes_the_batch_containing_the_offset_and_later_segments()
    {
        using var log = Open();
        for (var i = 0; i < 60; i++)
        {
            log.Append(Batch(2, tag: i.ToString(System.Globalization.CultureInfo.InvariantCulture)), i / 20);
        }

        Assert.True(log.SegmentCount > 3);
        log.Truncate(51);
        Assert.Equal(50, log.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), ReadAll(log).Keys);
        Assert.Equal(50, log.Append(Batch(1), 5).FirstOffset);
        Assert.Equal(5, log.LeaderEpochCache.LatestEpoch);
    }

    [Fact]
    public void DeleteRecordsBefore_moves_log_start_and_deletes_whole_segments()
    {
        using var log = Open();
        for (var i = 0; i < 60; i++)
        {
            log.Append(Batch(2), 0);
        }

        log.HighWatermark = log.LogEndOffset;
        var segmentsBefore = log.SegmentCount;
        Assert.Equal(ErrorCode.OffsetOutOfRange, log.DeleteRecordsBefore(121));
        Assert.Equal(ErrorCode.None, log.DeleteRecordsBefore(61));
        Assert.Equal(61, log.LogStartOffset);
        Assert.True(log.SegmentCount < segmentsBefore);
        Assert.True(log.SegmentBaseOffsets[0] <= 61);
        Assert.Equal(Enumerable.Range(61, 59).Select(i => (long)i), ReadAll(log).Keys);
        Assert.Equal(61, log.FetchOffsetByTimestamp(Log.EarliestTimestamp).Offset);
    }

    [Fact]
    public void Offsets_by_timestamp_use_the_time_index_across_segments()
    {
        using var log = Open();
        // Timestamps 10_000 + 10*offset; one record per batch so each offset is a batch.
        for (var i = 0; i < 100; i++)
        {
            log.Append(Batch(1, firstTimestamp: 10_000 + 10 * i), 2);
        }

        Assert.True(log.SegmentCount > 3);
        Assert.Equal(new TimestampAndOffset(10_000, 0, 2), log.FetchOffsetByTimestamp(0));
        Assert.Equal(new TimestampAndOffset(10_500, 50, 2), log.FetchOffsetByTimestamp(10_500));
        Assert.Equal(new TimestampAndOffset(10_510, 51, 2), log.FetchOffsetByTimestamp(10_501));
        Assert.Equal(new TimestampAndOffset(10_990, 99, 2), log.FetchOffsetByTimestamp(10_990));
        Assert.Equal(-1, log.FetchOffsetByTimestamp(10_991).Offset);
        Assert.Equal(new TimestampAndOffset(-1, 100, 2), log.FetchOffsetByTimestamp(Log.LatestTimestamp));
        Assert.Equal(new TimestampAndOffset(-1, 0, 2), log.FetchOffsetByTimestamp(Log.EarliestTimestamp));
        Assert.Equal(new TimestampAndOffset(10_990, 99, 2), log.FetchOffsetByTimestamp(Log.MaxTimestampQuery));
    }

    [Fact]
    public void Offset_by_timestamp_finds_the_record_inside_a_batch_also_compressed()
    {
        using var log = Open(Config());
        log.Append(Batch(10, firstTimestamp: 100), 0);
        log.Append(Batch(10, firstTimestamp: 200, compression: CompressionType.Lz4), 0);
        Assert.Equal(new TimestampAndOffset(104, 4, 0), log.FetchOffsetByTimestamp(104));
        Assert.Equal(new TimestampAndOffset(205, 15, 0), log.FetchOffsetByTimestamp(205));
        Assert.Equal(new TimestampAndOffset(209, 19, 0), log.FetchOffsetByTimestamp(Log.MaxTimestampQuery));
    }

    [Fact]
    public void Segment_rolls_by_time_from_the_first_batch_timestamp()
    {
        using var log = Open(Config(("segment.ms", "1000")));
        log.Append(Batch(1, firstTimestamp: 10_000), 0);
        log.Append(Batch(1, firstTimestamp: 10_900), 0);
        Assert.Equal(1, log.SegmentCount);
        log.Append(Batch(1, firstTimestamp: 11_001), 0);
        Assert.Equal(2, log.SegmentCount);
        Assert.Equal([0L, 2L], log.SegmentBaseOffsets);
    }

    [Fact]
    public void Roll_trims_the_old_indexes_and_preallocates_the_new()
    {
        using var log = Open(Config(("index.interval.bytes", "10"), ("segment.index.bytes", "4096")));
        for (var i = 0; i < 10; i++)
        {
            log.Append(Batch(1, firstTimestamp: 1_000 + i), 0);
        }

        Assert.Equal(4096, new FileInfo(Path.Combine(PartitionDir, "00000000000000000000.index")).Length);
        Assert.Equal(4092, new FileInfo(Path.Combine(PartitionDir, "00000000000000000000.timeindex")).Length);
        log.Roll();
        var index = new FileInfo(Path.Combine(PartitionDir, "00000000000000000000.index")).Length;
        var timeIndex = new FileInfo(Path.Combine(PartitionDir, "00000000000000000000.timeindex")).Length;
        // The first batch is never indexed (position 0 needs no entry); each later one is.
        Assert.Equal(9 * 8, index);
        // Same 9 entries: the final max-timestamp entry written at roll equals the last one, so it is skipped.
        Assert.Equal(9 * 12, timeIndex);
        Assert.Equal(4096, new FileInfo(Path.Combine(PartitionDir, "00000000000000000010.index")).Length);
    }

    [Fact]
    public void Compacted_topic_rejects_records_without_key_and_coordinator_may_append_control_batches()
    {
        using var log = Open(Config(("cleanup.policy", "compact")));
        var builder = new RecordBatchBuilder();
        builder.Append(1_000, key: null, value: [1, 2, 3]);
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        builder.Build(writer);
        var result = log.Append(writer.WrittenSpan.ToArray(), 0);
        Assert.Equal(ErrorCode.InvalidRecord, result.Error);
        Assert.Equal(0, log.LogEndOffset);
        Assert.Equal(ErrorCode.None, log.Append(Batch(2), 0).Error);

        var control = new RecordBatchBuilder { IsControl = true, IsTransactional = true, ProducerId = 7, ProducerEpoch = 0 };
        control.Append(2_000, key: [0, 0, 0, 1], value: [0, 0, 0, 0, 0, 0]);
        var controlWriter = new System.Buffers.ArrayBufferWriter<byte>();
        control.Build(controlWriter);
        Assert.NotEqual(ErrorCode.None, log.Append(controlWriter.WrittenSpan.ToArray(), 0).Error);
        var appended = log.Append(controlWriter.WrittenSpan.ToArray(), 0, AppendOrigin.Coordinator);
        Assert.Equal(ErrorCode.None, appended.Error);
        Assert.Equal(2, appended.FirstOffset);
        Assert.True(RecordBatch.IsControl(ReadOne(log, 2)));
    }

    private static byte[] ReadOne(Log log, long offset)
    {
        using var read = log.Read(offset, 1, long.MaxValue, minOneBatch: true);
        return read.Records.ToArray();
    }
}
