using Gregor.Protocol;
using Gregor.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class BackgroundJobTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-jobs");

    public void Dispose() => _temp.Dispose();

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    [Fact]
    public void Flush_ms_and_the_checkpoint_interval_follow_the_injected_clock()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        var data = Path.Combine(_temp.Path, "data");
        using var manager = new LogManager(new LogManagerOptions
        {
            LogDirs = [data],
            NodeId = 0,
            BrokerProperties = new Dictionary<string, string> { ["log.flush.interval.ms"] = "1000" },
        }, clock, NullLoggerFactory.Instance);
        manager.Startup();
        var log = manager.GetOrCreateLog("clocked", 0, Uuid.NewRandom());
        Assert.Equal(1000, log.Config.FlushMs);
        log.Append(Batch(3, firstTimestamp: 1_700_000_000_000), 0);
        Assert.Equal(0, log.RecoveryPoint);

        clock.Advance(TimeSpan.FromMilliseconds(999));
        manager.RunBackgroundJobs();
        Assert.Equal(0, log.RecoveryPoint);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        manager.RunBackgroundJobs();
        Assert.Equal(3, log.RecoveryPoint);
        Assert.False(File.Exists(Path.Combine(data, "recovery-point-offset-checkpoint")));

        clock.Advance(TimeSpan.FromSeconds(60));
        manager.RunBackgroundJobs();
        Assert.Equal("0\n1\nclocked 0 3\n", File.ReadAllText(Path.Combine(data, "recovery-point-offset-checkpoint")));
    }

    [Fact]
    public void Flush_messages_flushes_on_append()
    {
        using var log = Log.Open(Path.Combine(_temp.Path, "f-0"), Config(("flush.messages", "5")), TimeProvider.System);
        log.Append(Batch(3), 0);
        Assert.Equal(0, log.RecoveryPoint);
        log.Append(Batch(2), 0);
        Assert.Equal(5, log.RecoveryPoint);
        Assert.Equal(0, log.UnflushedMessages);
    }
}
