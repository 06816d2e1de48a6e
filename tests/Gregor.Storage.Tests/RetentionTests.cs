using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class RetentionTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-retention");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Retention_by_bytes_deletes_the_oldest_segments_below_the_high_watermark()
    {
        using var log = Log.Open(Path.Combine(_temp.Path, "r-0"),
            Config(("segment.bytes", "1000"), ("retention.bytes", "3000"), ("file.delete.delay.ms", "0")), TimeProvider.System);
        for (var i = 0; i < 100; i++)
        {
            log.Append(Batch(1, valueSize: 100), 0);
        }

        Assert.Equal(0, log.DeleteOldSegments()); // nothing is below the high watermark yet
        log.HighWatermark = log.LogEndOffset;
        var deleted = log.DeleteOldSegments();
        Assert.True(deleted > 0);
        Assert.True(log.Size <= 3000 + 1000, $"size {log.Size}");
        Assert.Equal(log.SegmentBaseOffsets[0], log.LogStartOffset);
        Assert.Equal(log.SegmentCount, Directory.GetFiles(Path.Combine(_temp.Path, "r-0"), "*.log").Length);
        Assert.Equal(Enumerable.Range((int)log.LogStartOffset, 100 - (int)log.LogStartOffset).Select(i => (long)i), ReadAll(log).Keys);
    }

    [Fact]
    public void Retention_by_time_uses_the_segments_largest_timestamp()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var log = Log.Open(Path.Combine(_temp.Path, "t-0"),
            Config(("segment.bytes", "1000"), ("retention.ms", "60000"), ("file.delete.delay.ms", "0"),
                ("message.timestamp.before.max.ms", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture))), TimeProvider.System);
        for (var i = 0; i < 30; i++)
        {
            log.Append(Batch(1, firstTimestamp: now - 3_600_000, valueSize: 100), 0);
        }

        log.Roll();
        log.Append(Batch(1, firstTimestamp: now), 0);
        log.HighWatermark = log.LogEndOffset;
        Assert.True(log.DeleteOldSegments() > 0);
        Assert.Equal(30, log.LogStartOffset);
        Assert.Equal(1, log.SegmentCount);
    }
}
