using System.Buffers;
using System.Text;
using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.Storage.Cleaner;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests.Cleaner;

public sealed class LogCleanerTests : IDisposable
{
    private const long Start = 1_700_000_000_000;
    private const int Keys = 1000;
    private const int Records = 100_000;
    private const int Tombstones = 100;

    private readonly TempDirectory _temp = new("gregor-cleaner");
    private readonly Clock _clock = new(DateTimeOffset.FromUnixTimeMilliseconds(Start));

    public void Dispose() => _temp.Dispose();

    private sealed class Clock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private static LogConfig Compacted(params (string Key, string Value)[] more)
    {
        var all = new Dictionary<string, string> { ["cleanup.policy"] = "compact", ["segment.bytes"] = "65536", ["file.delete.delay.ms"] = "0" };
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return LogConfig.Create(new Dictionary<string, string>(), all);
    }

    private Log OpenLog(string name, LogConfig config, bool clean = true) =>
        Log.Open(Path.Combine(_temp.Path, name), config, _clock, hadCleanShutdown: clean);

    private static byte[] KeyedBatch(IEnumerable<(string Key, string? Value)> records, long timestamp, CompressionType compression = CompressionType.None)
    {
        var builder = new RecordBatchBuilder { CompressionType = compression };
        foreach (var (key, value) in records)
        {
            builder.Append(timestamp, Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value),
                [new RecordHeaderData("h", Encoding.UTF8.GetBytes(key))]);
        }

        return builder.Build();
    }

    /// <summary>100,000 records over 1,000 keys (value "v{i}"), then tombstones for keys 0..99,
    /// then one record in a fresh active segment so everything before is cleanable.</summary>
    private static void Fill(Log log, long timestamp, CompressionType compression = CompressionType.None, bool uniqueKeys = false)
    {
        for (var i = 0; i < Records; i += 100)
        {
            var records = Enumerable.Range(i, 100).Select(n => ($"key-{n % Keys}", (string?)$"v{n}"));
            if (uniqueKeys)
            {
                // A key written once: every part of the log keeps something after cleaning.
                records = records.Append(($"unique-{i}", "u"));
            }

            log.Append(KeyedBatch(records, timestamp, i % 300 == 0 ? compression : CompressionType.None), 0);
        }

        log.Append(KeyedBatch(Enumerable.Range(0, Tombstones).Select(n => ($"key-{n}", (string?)null)), timestamp), 0);
        log.Roll();
        log.Append(KeyedBatch([("key-active", "a")], timestamp), 0);
        log.HighWatermark = log.LogEndOffset;
    }

    /// <summary>Reads the whole log: (offset, key, value) in order, asserting offsets strictly increase.</summary>
    private static List<(long Offset, string Key, string? Value)> ReadAll(Log log)
    {
        var result = new List<(long, string, string?)>();
        var offset = log.LogStartOffset;
        var last = -1L;
        while (offset < log.HighWatermark)
        {
            using var read = log.Read(offset, 1 << 20, log.HighWatermark, minOneBatch: true);
            Assert.Equal(ErrorCode.None, read.Error);
            var data = read.Records.Span;
            var position = 0;
            var next = offset;
            while (RecordBatchReader.TryReadNext(data, ref position, out var start, out var size))
            {
                var batch = data.Slice(start, size);
                Assert.True(RecordBatch.IsValid(batch));
                using var reader = new RecordReader(batch);
                while (reader.TryReadNext(out var record))
                {
                    var o = record.Offset(reader.BaseOffset);
                    if (o < offset)
                    {
                        continue;
                    }

                    Assert.True(o > last, $"offset {o} after {last}");
                    last = o;
                    result.Add((o, Encoding.UTF8.GetString(record.Key), record.HasValue ? Encoding.UTF8.GetString(record.Value) : null));
                }

                next = RecordBatch.LastOffset(batch) + 1;
            }

            Assert.True(next > offset, "the read made progress");
            offset = next;
        }

        return result;
    }

    private static Dictionary<string, (long Offset, string? Value)> Latest(IEnumerable<(long Offset, string Key, string? Value)> records)
    {
        var map = new Dictionary<string, (long, string?)>();
        foreach (var (offset, key, value) in records)
        {
            map[key] = (offset, value);
        }

        return map;
    }

    private static void AssertLatestValues(Dictionary<string, (long Offset, string? Value)> latest, bool tombstonesPresent)
    {
        for (var k = 0; k < Keys; k++)
        {
            var key = $"key-{k}";
            if (k < Tombstones)
            {
                if (tombstonesPresent)
                {
                    Assert.Null(latest[key].Value);
                    Assert.Equal(Records + k, latest[key].Offset);
                }
                else
                {
                    Assert.False(latest.ContainsKey(key), $"{key} was deleted");
                }
            }
            else
            {
                Assert.Equal($"v{Records - Keys + k}", latest[key].Value);
                Assert.Equal(Records - Keys + k, latest[key].Offset);
            }
        }

        Assert.Equal("a", latest["key-active"].Value);
    }

    [Fact]
    public void Compaction_keeps_one_record_per_live_key_and_drops_tombstones_after_delete_retention()
    {
        using var log = OpenLog("c-0", Compacted(("delete.retention.ms", "60000")));
        Fill(log, Start, CompressionType.Lz4);
        var sizeBefore = log.Size;
        var endBefore = log.LogEndOffset;
        var cleaner = new LogCleaner(() => [log], [_temp.Path], _clock);

        var stats = cleaner.Clean(log);
        Assert.NotNull(stats);
        Assert.Equal(Records + Tombstones, stats.RecordsRead);
        Assert.Equal(Keys, stats.RecordsKept);
        var after = ReadAll(log);
        // One record per key (900 live values + 100 tombstones still within delete.retention.ms) + the active one.
        Assert.Equal(Keys + 1, after.Count);
        Assert.Equal(after.Count, after.Select(r => r.Key).Distinct().Count());
        AssertLatestValues(Latest(after), tombstonesPresent: true);
        Assert.True(log.Size < sizeBefore / 20, $"{log.Size} of {sizeBefore}");
        Assert.Equal(endBefore, log.LogEndOffset);
        Assert.Equal(0, log.LogStartOffset);
        Assert.Equal(Records + Tombstones, cleaner.FirstDirtyOffset(log));

        // Nothing new to clean: the dirty ratio is 0.
        Assert.Empty(cleaner.CleanAll());

        // Past delete.retention.ms the next pass removes the tombstones.
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.NotNull(cleaner.Clean(log, force: true));
        var final = ReadAll(log);
        Assert.Equal(Keys - Tombstones + 1, final.Count);
        AssertLatestValues(Latest(final), tombstonesPresent: false);
        Assert.DoesNotContain(Directory.EnumerateFiles(log.Dir), f => f.EndsWith(".cleaned", StringComparison.Ordinal) || f.EndsWith(".swap", StringComparison.Ordinal));

        // The cleaned log survives a reopen with recovery (indexes, offsets).
        log.Close();
        using var reopened = OpenLog("c-0", Compacted(), clean: false);
        reopened.HighWatermark = reopened.LogEndOffset;
        Assert.Equal(endBefore, reopened.LogEndOffset);
        Assert.Equal(final, ReadAll(reopened));
    }

    [Fact]
    public void A_reader_from_offset_zero_sees_a_consistent_view_while_the_cleaner_runs()
    {
        using var log = OpenLog("v-0", Compacted(("segment.bytes", "16384")));
        Fill(log, Start);
        var expected = Latest(ReadAll(log));
        var cleaner = new LogCleaner(() => [log], [_temp.Path], _clock);
        using var stop = new CancellationTokenSource();
        var passes = 0;
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested || passes == 0)
            {
                var latest = Latest(ReadAll(log));
                Assert.Equal(expected, latest);
                passes++;
            }
        });

        Assert.NotNull(cleaner.Clean(log));
        stop.Cancel();
        reader.GetAwaiter().GetResult();
        Assert.True(passes > 0);
        Assert.Equal(expected, Latest(ReadAll(log)));
    }

    [Theory]
    [InlineData(CleanerHookPoints.CleanedWritten)]
    [InlineData(CleanerHookPoints.SwapWritten)]
    [InlineData(CleanerHookPoints.OldSegmentsRenamed)]
    public void A_crash_in_the_middle_of_a_pass_loses_nothing_that_should_be_kept(string crashPoint)
    {
        var log = OpenLog("k-0", Compacted(("segment.bytes", "16384")));
        Fill(log, Start, uniqueKeys: true);
        log.Flush();
        // Output groups of several input segments, so a .swap replaces more than one segment.
        log.Config = Compacted();
        var expected = Latest(ReadAll(log));
        var cleaner = new LogCleaner(() => [log], [_temp.Path], _clock);
        var groups = 0;
        cleaner.TestHook = point =>
        {
            // Crash in the second group, after the first one was swapped in completely.
            if (point == crashPoint && ++groups == 2)
            {
                throw new SimulatedCrash();
            }
        };
        Assert.Throws<SimulatedCrash>(() => cleaner.Clean(log));

        // "Restart": open the directory as left, without a clean shutdown.
        using var recovered = OpenLog("k-0", Compacted(), clean: false);
        recovered.HighWatermark = recovered.LogEndOffset;
        Assert.Equal(log.LogEndOffset, recovered.LogEndOffset);
        var records = ReadAll(recovered);
        Assert.Equal(expected, Latest(records));
        Assert.DoesNotContain(Directory.EnumerateFiles(recovered.Dir), f => f.EndsWith(".cleaned", StringComparison.Ordinal)
            || f.EndsWith(".swap", StringComparison.Ordinal) || f.EndsWith(".deleted", StringComparison.Ordinal));

        // A later pass finishes the job.
        var again = new LogCleaner(() => [recovered], [_temp.Path], _clock);
        Assert.NotNull(again.Clean(recovered, force: true));
        var cleaned = ReadAll(recovered);
        Assert.Equal(expected.Count, cleaned.Count);
        Assert.Equal(expected, Latest(cleaned));
    }

    private sealed class SimulatedCrash : Exception;

    [Fact]
    public void Min_compaction_lag_and_dirty_ratio_hold_cleaning_back_and_max_lag_forces_it()
    {
        using var log = OpenLog("lag-0", Compacted(("min.compaction.lag.ms", "3600000")));
        Fill(log, Start);
        var cleaner = new LogCleaner(() => [log], [_temp.Path], _clock);
        Assert.Null(cleaner.Clean(log));
        Assert.Empty(cleaner.CleanAll());

        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Single(cleaner.CleanAll());

        using var ratioLog = OpenLog("ratio-0", Compacted(("min.cleanable.dirty.ratio", "0.9")));
        var ratioCleaner = new LogCleaner(() => [ratioLog], [_temp.Path], _clock);
        Fill(ratioLog, _clock.GetUtcNow().ToUnixTimeMilliseconds());
        Assert.NotNull(ratioCleaner.Clean(ratioLog));
        // A small dirty tail: ratio far below 0.9, nothing happens.
        ratioLog.Append(KeyedBatch([("key-1", "late")], _clock.GetUtcNow().ToUnixTimeMilliseconds()), 0);
        ratioLog.Roll();
        ratioLog.Append(KeyedBatch([("key-2", "later")], _clock.GetUtcNow().ToUnixTimeMilliseconds()), 0);
        ratioLog.HighWatermark = ratioLog.LogEndOffset;
        Assert.Empty(ratioCleaner.CleanAll());

        // max.compaction.lag.ms makes it due whatever the ratio.
        ratioLog.Config = Compacted(("min.cleanable.dirty.ratio", "0.9"), ("max.compaction.lag.ms", "1000"));
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Single(ratioCleaner.CleanAll());
        var latest = Latest(ReadAll(ratioLog));
        Assert.Equal("late", latest["key-1"].Value);
    }

    [Fact]
    public void Control_batches_are_kept_and_keyless_client_records_are_refused()
    {
        using var log = OpenLog("ctl-0", Compacted());
        var pid = 42L;
        var txn = new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = 0, BaseSequence = 0, IsTransactional = true };
        txn.Append(Start, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("old"));
        log.Append(txn.Build(), 0, AppendOrigin.Coordinator);
        log.Append(RecordBatchBuilder.BuildControlBatch(ControlRecordType.Commit, pid, 0, 0, Start), 0, AppendOrigin.Coordinator);
        log.Append(KeyedBatch([("k", "new")], Start), 0);
        log.Roll();
        log.Append(KeyedBatch([("z", "z")], Start), 0);
        log.HighWatermark = log.LogEndOffset;

        var cleaner = new LogCleaner(() => [log], [_temp.Path], _clock);
        Assert.NotNull(cleaner.Clean(log));
        using var read = log.Read(0, 1 << 20, log.HighWatermark, true);
        var batches = Batches(read.Records.Span);
        // The superseded transactional record's batch is gone; the commit marker (offset 1) stays.
        Assert.Equal([(1L, 1L, 1), (2L, 2L, 1), (3L, 3L, 1)], batches);

        var keyless = new RecordBatchBuilder().Append(Start, null, Encoding.UTF8.GetBytes("no key")).Build();
        var result = log.Append(keyless, 0);
        Assert.Equal(ErrorCode.InvalidRecord, result.Error);
        Assert.Equal(4, log.LogEndOffset);
    }

    [Fact]
    public void Offsets_by_timestamp_find_the_first_surviving_record_after_compaction()
    {
        using var log = OpenLog("ts-0", Compacted(("segment.bytes", "4096")));
        for (var i = 0; i < 1000; i += 10)
        {
            var builder = new RecordBatchBuilder();
            for (var j = i; j < i + 10; j++)
            {
                builder.Append(Start + j * 1000L, Encoding.UTF8.GetBytes($"k{j % 10}"), Encoding.UTF8.GetBytes($"v{j}"));
            }

            log.Append(builder.Build(), 0);
        }

        log.Roll();
        log.Append(KeyedBatch([("tail", "t")], Start + 2_000_000), 0);
        log.HighWatermark = log.LogEndOffset;
        Assert.Equal(500, log.FetchOffsetByTimestamp(Start + 500_000).Offset);

        Assert.NotNull(new LogCleaner(() => [log], [_temp.Path], _clock).Clean(log));
        // Only offsets 990..999 (latest per key) and the tail survive.
        Assert.Equal(990, log.FetchOffsetByTimestamp(Start + 500_000).Offset);
        var found = log.FetchOffsetByTimestamp(Start + 995_000);
        Assert.Equal(995, found.Offset);
        Assert.Equal(Start + 995_000, found.Timestamp);
        Assert.Equal(1000, log.FetchOffsetByTimestamp(Start + 1_500_000).Offset);
    }

    [Fact]
    public void Aborted_transactions_are_removed_and_never_shadow_committed_values_and_open_ones_wait()
    {
        using var log = OpenLog("txn-0", Compacted());
        byte[] Txn(long pid, string key, string value)
        {
            var builder = new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = 0, BaseSequence = 0, IsTransactional = true };
            builder.Append(Start, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
            return builder.Build();
        }

        log.Append(Txn(7, "k", "committed"), 0, AppendOrigin.Coordinator);                                      // 0
        log.Append(RecordBatchBuilder.BuildControlBatch(ControlRecordType.Commit, 7, 0, 0, Start), 0, AppendOrigin.Coordinator); // 1
        log.Append(Txn(8, "k", "aborted"), 0, AppendOrigin.Coordinator);                                        // 2
        log.Append(RecordBatchBuilder.BuildControlBatch(ControlRecordType.Abort, 8, 0, 0, Start), 0, AppendOrigin.Coordinator);  // 3
        log.Append(KeyedBatch([("other", "o")], Start), 0);                                                     // 4
        log.Roll();
        log.Append(Txn(9, "k", "still open"), 0, AppendOrigin.Coordinator);                                     // 5
        log.Roll();
        log.Append(KeyedBatch([("z", "z")], Start), 0);                                                         // 6
        log.HighWatermark = log.LogEndOffset;

        var cleaner = new LogCleaner(() => [log], [_temp.Path], _clock);
        var stats = cleaner.Clean(log);
        Assert.NotNull(stats);
        Assert.Equal(5, stats.EndOffset); // stops before the open transaction
        using (var read = log.Read(0, 1 << 20, log.HighWatermark, true))
        {
            Assert.Equal([(0L, 0L, 1), (1L, 1L, 1), (3L, 3L, 1), (4L, 4L, 1), (5L, 5L, 1), (6L, 6L, 1)], Batches(read.Records.Span));
        }

        // Once the open transaction commits, its value supersedes the committed one.
        log.Append(RecordBatchBuilder.BuildControlBatch(ControlRecordType.Commit, 9, 0, 0, Start), 0, AppendOrigin.Coordinator); // 7
        log.Roll();
        log.Append(KeyedBatch([("z", "z2")], Start), 0);                                                        // 8
        log.HighWatermark = log.LogEndOffset;
        Assert.NotNull(cleaner.Clean(log, force: true));
        using (var read = log.Read(0, 1 << 20, log.HighWatermark, true))
        {
            Assert.Equal([(1L, 1L, 1), (3L, 3L, 1), (4L, 4L, 1), (5L, 5L, 1), (6L, 6L, 1), (7L, 7L, 1), (8L, 8L, 1)], Batches(read.Records.Span));
        }
    }
}
