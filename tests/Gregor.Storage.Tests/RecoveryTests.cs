using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class RecoveryTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-recovery");

    private string PartitionDir => Path.Combine(_temp.Path, "events-3");

    private static LogConfig SmallSegments => Config(("segment.bytes", "2048"), ("index.interval.bytes", "200"));

    public void Dispose() => _temp.Dispose();

    private Log Open(bool clean = false, long recoveryPoint = 0) =>
        Log.Open(PartitionDir, SmallSegments, TimeProvider.System, recoveryPoint: recoveryPoint, hadCleanShutdown: clean);

    private SortedDictionary<long, string> Fill(Log log, int batches, int perBatch = 3)
    {
        var expected = new SortedDictionary<long, string>();
        for (var b = 0; b < batches; b++)
        {
            var info = log.Append(Batch(perBatch, firstTimestamp: 50_000 + b * 100, tag: $"{b}"), 1);
            for (var i = 0; i < perBatch; i++)
            {
                expected[info.FirstOffset + i] = $"v{b}-{i}";
            }
        }

        return expected;
    }

    private string ActiveLogFile(Log log) => Path.Combine(PartitionDir, $"{log.SegmentBaseOffsets[^1]:D20}.log");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reopen_reads_everything_back(bool clean)
    {
        SortedDictionary<long, string> expected;
        using (var log = Open())
        {
            expected = Fill(log, 80);
            Assert.True(log.SegmentCount > 3);
            log.Flush();
        }

        using var reopened = Open(clean);
        Assert.Equal(240, reopened.LogEndOffset);
        Assert.Equal(expected, ReadAll(reopened));
        Assert.Equal(new TimestampAndOffset(50_000 + 40 * 100, 120, 1), reopened.FetchOffsetByTimestamp(50_000 + 40 * 100));
        Assert.Equal(240, reopened.Append(Batch(1), 1).FirstOffset);
    }

    [Fact]
    public void Torn_write_is_truncated_to_the_last_whole_batch_and_appends_continue()
    {
        SortedDictionary<long, string> expected;
        string active;
        long activeSizeBefore;
        using (var log = Open())
        {
            expected = Fill(log, 40);
            active = ActiveLogFile(log);
            activeSizeBefore = new FileInfo(active).Length;
        }

        // Cut the last batch in half, as a crash in the middle of a write would.
        var lastBatchSize = Batch(3, tag: "39").Length;
        using (var f = new FileStream(active, FileMode.Open))
        {
            f.SetLength(activeSizeBefore - lastBatchSize / 2);
        }

        using var log2 = Open(clean: false);
        Assert.Equal(117, log2.LogEndOffset);
        Assert.Equal(activeSizeBefore - lastBatchSize, new FileInfo(active).Length);
        for (var o = 117; o < 120; o++)
        {
            expected.Remove(o);
        }

        Assert.Equal(expected, ReadAll(log2));
        var next = log2.Append(Batch(2, tag: "new"), 1);
        Assert.Equal(117, next.FirstOffset);
        Assert.Equal("vnew-1", ReadAll(log2, 117)[118]);
    }

    [Fact]
    public void Flipped_byte_in_the_tail_batch_truncates_from_that_batch()
    {
        string active;
        long[] batchStarts;
        using (var log = Open())
        {
            Fill(log, 5);
            active = ActiveLogFile(log);
            Assert.Equal(1, log.SegmentCount);
            var bytes = File.ReadAllBytes(active);
            var starts = new List<long>();
            var position = 0;
            while (RecordBatchReader.TryReadNext(bytes, ref position, out var start, out _))
            {
                starts.Add(start);
            }

            batchStarts = [.. starts];
        }

        // Corrupt a record byte of batch 3 (of 0..4): the CRC no longer matches.
        var data = File.ReadAllBytes(active);
        data[batchStarts[3] + RecordBatch.HeaderSize + 3] ^= 0xFF;
        File.WriteAllBytes(active, data);

        using var log2 = Open(clean: false);
        Assert.Equal(9, log2.LogEndOffset);
        Assert.Equal(batchStarts[3], new FileInfo(active).Length);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), ReadAll(log2).Keys);
    }

    [Fact]
    public void Deleted_indexes_are_rebuilt_identically_even_after_a_clean_shutdown()
    {
        using (var log = Open())
        {
            Fill(log, 60);
        }

        var indexFiles = Directory.GetFiles(PartitionDir, "*.index").Concat(Directory.GetFiles(PartitionDir, "*.timeindex")).Order().ToList();
        Assert.True(indexFiles.Count >= 6);
        var originals = indexFiles.ToDictionary(f => f, File.ReadAllBytes);
        Assert.Contains(originals.Values, b => b.Length > 0);
        foreach (var f in indexFiles)
        {
            File.Delete(f);
        }

        using (var log2 = Open(clean: true))
        {
            Assert.Equal(180, log2.LogEndOffset);
            Assert.Equal(Enumerable.Range(0, 180).Select(i => (long)i), ReadAll(log2).Keys);
            Assert.Equal(new TimestampAndOffset(50_000 + 3000, 90, 1), log2.FetchOffsetByTimestamp(50_000 + 2950));
        }

        foreach (var (file, bytes) in originals)
        {
            Assert.True(File.Exists(file), file);
            Assert.Equal(bytes, File.ReadAllBytes(file));
        }
    }

    [Fact]
    public void Corrupt_index_is_rebuilt()
    {
        using (var log = Open())
        {
            Fill(log, 60);
        }

        var first = Path.Combine(PartitionDir, "00000000000000000000.index");
        var good = File.ReadAllBytes(first);
        Assert.True(good.Length >= 16);
        // Entries out of order: not an index Kafka would write.
        var bad = (byte[])good.Clone();
        Array.Copy(good, 0, bad, 8, 8);
        Array.Copy(good, 8, bad, 0, 8);
        File.WriteAllBytes(first, bad);
        // And a file whose size is not a multiple of the entry size.
        var timeIndex = Path.Combine(PartitionDir, "00000000000000000000.timeindex");
        var goodTime = File.ReadAllBytes(timeIndex);
        File.WriteAllBytes(timeIndex, goodTime[..^5]);

        using (var log2 = Open(clean: true))
        {
            Assert.Equal(Enumerable.Range(0, 180).Select(i => (long)i), ReadAll(log2).Keys);
        }

        Assert.Equal(good, File.ReadAllBytes(first));
        Assert.Equal(goodTime, File.ReadAllBytes(timeIndex));
    }

    [Fact]
    public void Crash_without_close_recovers_from_preallocated_indexes()
    {
        var log = Open();
        var expected = Fill(log, 30);
        var indexLength = new FileInfo(Path.Combine(PartitionDir, $"{log.SegmentBaseOffsets[^1]:D20}.index")).Length;
        Assert.Equal(10 * 1024 * 1024, indexLength); // preallocated, never trimmed: a crash

        // No Close(): the process "died". Reopen from recovery point 0.
        using var log2 = Open(clean: false);
        Assert.Equal(expected, ReadAll(log2));
        Assert.Equal(90, log2.Append(Batch(1), 1).FirstOffset);
        GC.KeepAlive(log);
    }

    [Fact]
    public void Stray_files_are_cleaned_up()
    {
        using (var log = Open())
        {
            Fill(log, 3);
        }

        File.WriteAllText(Path.Combine(PartitionDir, "00000000000000000000.log.deleted"), "x");
        File.WriteAllText(Path.Combine(PartitionDir, "00000000000000000100.log.cleaned"), "x");
        File.WriteAllText(Path.Combine(PartitionDir, "00000000000000000500.index"), "orphan");
        File.WriteAllText(Path.Combine(PartitionDir, "leader-epoch-checkpoint.tmp"), "x");
        using var log2 = Open(clean: true);
        Assert.Equal(9, log2.LogEndOffset);
        Assert.Empty(Directory.GetFiles(PartitionDir, "*.deleted"));
        Assert.Empty(Directory.GetFiles(PartitionDir, "*.cleaned"));
        Assert.Empty(Directory.GetFiles(PartitionDir, "*.tmp"));
        Assert.False(File.Exists(Path.Combine(PartitionDir, "00000000000000000500.index")));
    }

    [Fact]
    public void Leader_epoch_cache_is_persisted_and_truncated_with_the_log()
    {
        using (var log = Open())
        {
            log.Append(Batch(2), 0);
            log.Append(Batch(2), 2);
            log.Append(Batch(2), 5);
        }

        Assert.Equal("0\n3\n0 0\n2 2\n5 4\n", File.ReadAllText(Path.Combine(PartitionDir, "leader-epoch-checkpoint")));
        using var log2 = Open(clean: true);
        Assert.Equal((2, 4L), log2.LeaderEpochCache.EndOffsetFor(2, log2.LogEndOffset));
        Assert.Equal((5, 6L), log2.LeaderEpochCache.EndOffsetFor(5, log2.LogEndOffset));
        Assert.Equal((0, 2L), log2.LeaderEpochCache.EndOffsetFor(1, log2.LogEndOffset));
        log2.Truncate(4);
        Assert.Equal(4, log2.LogEndOffset);
        Assert.Equal("0\n2\n0 0\n2 2\n", File.ReadAllText(Path.Combine(PartitionDir, "leader-epoch-checkpoint")));
    }
}
