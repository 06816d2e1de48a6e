using Gregor.Protocol;
using Gregor.Storage.Checkpoints;
using Gregor.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class LogManagerTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-logmanager");

    public void Dispose() => _temp.Dispose();

    private LogManager Create(string? clusterId = null, int nodeId = 1, params string[] dirs) =>
        new(new LogManagerOptions
        {
            LogDirs = dirs.Length == 0 ? [Path.Combine(_temp.Path, "data")] : dirs,
            NodeId = nodeId,
            ClusterId = clusterId,
            BrokerProperties = new Dictionary<string, string> { ["log.segment.bytes"] = "4096", ["log.retention.hours"] = "1" },
        }, TimeProvider.System, NullLoggerFactory.Instance);

    [Fact]
    public void Startup_writes_kraft_meta_properties_and_keeps_the_cluster_id()
    {
        string clusterId;
        using (var manager = Create())
        {
            manager.Startup();
            clusterId = manager.ClusterId;
            Assert.Equal(22, clusterId.Length); // Kafka's base64 Uuid
            Uuid.Parse(clusterId);
        }

        var text = File.ReadAllText(Path.Combine(_temp.Path, "data", "meta.properties"));
        Assert.Contains("version=1\n", text, StringComparison.Ordinal);
        Assert.Contains("node.id=1\n", text, StringComparison.Ordinal);
        Assert.Contains($"cluster.id={clusterId}\n", text, StringComparison.Ordinal);
        Assert.Matches(@"directory\.id=[A-Za-z0-9_-]{22}\n", text);

        using var again = Create();
        again.Startup();
        Assert.Equal(clusterId, again.ClusterId);
        using var otherNode = Create(nodeId: 2);
        Assert.Throws<InvalidOperationException>(otherNode.Startup);
    }

    [Fact]
    public void Logs_survive_shutdown_with_checkpoints_in_kafka_format_and_clean_marker()
    {
        var topicId = Uuid.NewRandom();
        var data = Path.Combine(_temp.Path, "data");
        using (var manager = Create())
        {
            manager.Startup();
            var log = manager.GetOrCreateLog("payments", 2, topicId);
            Assert.Equal(4096, log.Config.SegmentBytes);
            Assert.Equal(ConfigSource.Broker, log.Config.GetEntry("retention.ms").Source);
            Assert.Equal(3_600_000, log.Config.RetentionMs);
            for (var i = 0; i < 50; i++)
            {
                log.Append(Batch(4, valueSize: 50), 0);
            }

            log.HighWatermark = log.LogEndOffset;
            Assert.Same(log, manager.GetOrCreateLog("payments", 2, topicId));
            Assert.Same(log, manager.GetLog("payments", 2));
            manager.GetOrCreateLog("payments", 0, topicId);
            manager.Shutdown();
        }

        Assert.True(File.Exists(Path.Combine(data, ".kafka_cleanshutdown")));
        Assert.Equal("0\n2\npayments 0 0\npayments 2 200\n", Sorted(File.ReadAllText(Path.Combine(data, "recovery-point-offset-checkpoint"))));
        Assert.Equal("0\n2\npayments 0 0\npayments 2 200\n", Sorted(File.ReadAllText(Path.Combine(data, "replication-offset-checkpoint"))));
        Assert.Equal("0\n0\n", File.ReadAllText(Path.Combine(data, "log-start-offset-checkpoint")));
        Assert.Equal($"version: 0\ntopic_id: {topicId}\n", File.ReadAllText(Path.Combine(data, "payments-2", "partition.metadata")));

        using var reopened = Create(null, 1, data + "/");
        reopened.Startup();
        Assert.False(File.Exists(Path.Combine(data, ".kafka_cleanshutdown")));
        var overridden = LogConfig.Create(reopened.BrokerProperties, new Dictionary<string, string> { ["retention.ms"] = "1000" });
        Assert.Equal(1000, reopened.GetOrCreateLog("payments", 0, topicId, overridden).Config.RetentionMs);
        reopened.WriteCheckpoints();
        Assert.Equal("0\n2\npayments 0 0\npayments 2 200\n", Sorted(File.ReadAllText(Path.Combine(data, "recovery-point-offset-checkpoint"))));
        var log2 = reopened.GetLog("payments", 2)!;
        Assert.Equal(200, log2.LogEndOffset);
        Assert.Equal(200, log2.HighWatermark);
        Assert.Equal(200, log2.RecoveryPoint);
        Assert.Equal(topicId, log2.TopicId);
        Assert.Equal(200, ReadAll(log2).Count);
        Assert.Equal(2, reopened.AllLogs.Count());
    }

    [Fact]
    public void Log_start_offset_is_restored_from_its_checkpoint()
    {
        using (var manager = Create())
        {
            manager.Startup();
            var log = manager.GetOrCreateLog("t", 0, Uuid.NewRandom());
            for (var i = 0; i < 10; i++)
            {
                log.Append(Batch(1), 0);
            }

            log.HighWatermark = 10;
            Assert.Equal(ErrorCode.None, log.DeleteRecordsBefore(7));
        }

        Assert.Equal("0\n1\nt 0 7\n", File.ReadAllText(Path.Combine(_temp.Path, "data", "log-start-offset-checkpoint")));
        using var reopened = Create();
        reopened.Startup();
        var log2 = reopened.GetLog("t", 0)!;
        Assert.Equal(7, log2.LogStartOffset);
        Assert.Equal(ErrorCode.OffsetOutOfRange, log2.Read(6, 100, long.MaxValue, true).Error);
        Assert.Equal([7L, 8, 9], ReadAll(log2).Keys);
    }

    [Fact]
    public void DeleteLog_removes_the_partition_directory()
    {
        using var manager = Create();
        manager.Startup();
        var log = manager.GetOrCreateLog("gone", 0, Uuid.NewRandom());
        log.Append(Batch(1), 0);
        Assert.True(Directory.Exists(Path.Combine(_temp.Path, "data", "gone-0")));
        Assert.True(manager.DeleteLog(new TopicPartition("gone", 0)));
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "data", "gone-0")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_temp.Path, "data")));
        Assert.Null(manager.GetLog("gone", 0));
    }

    [Fact]
    public void New_partitions_go_to_the_log_dir_with_the_fewest()
    {
        var a = Path.Combine(_temp.Path, "a");
        var b = Path.Combine(_temp.Path, "b");
        using var manager = Create(null, 1, a, b);
        manager.Startup();
        var id = Uuid.NewRandom();
        for (var p = 0; p < 6; p++)
        {
            manager.GetOrCreateLog("spread", p, id);
        }

        Assert.Equal(3, Directory.GetDirectories(a).Length);
        Assert.Equal(3, Directory.GetDirectories(b).Length);
        Assert.Equal(
            File.ReadAllLines(Path.Combine(a, "meta.properties")).Single(l => l.StartsWith("cluster.id", StringComparison.Ordinal)),
            File.ReadAllLines(Path.Combine(b, "meta.properties")).Single(l => l.StartsWith("cluster.id", StringComparison.Ordinal)));
    }

    [Fact]
    public void Unclean_start_recovers_from_the_recovery_point()
    {
        var data = Path.Combine(_temp.Path, "data");
        using (var manager = Create())
        {
            manager.Startup();
            var log = manager.GetOrCreateLog("r", 0, Uuid.NewRandom());
            for (var i = 0; i < 20; i++)
            {
                log.Append(Batch(2), 0);
            }

            manager.Shutdown();
        }

        File.Delete(Path.Combine(data, ".kafka_cleanshutdown"));
        var logFile = Directory.GetFiles(Path.Combine(data, "r-0"), "*.log").Order().Last();
        using (var f = new FileStream(logFile, FileMode.Open))
        {
            f.SetLength(f.Length - 10);
        }

        // The recovery point says everything was flushed, but the active segment is always
        // rechecked from the segment holding the recovery point on.
        using var reopened = Create();
        reopened.Startup();
        Assert.Equal(38, reopened.GetLog("r", 0)!.LogEndOffset);
    }

    private static string Sorted(string checkpoint)
    {
        var lines = checkpoint.TrimEnd('\n').Split('\n');
        return string.Join('\n', lines.Take(2).Concat(lines.Skip(2).Order(StringComparer.Ordinal))) + "\n";
    }
}
