using Gregor.Protocol;
using Gregor.Storage.Checkpoints;
using Gregor.TestKit;

namespace Gregor.Storage.Tests;

public sealed class CheckpointAndConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-checkpoints");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Offset_checkpoint_round_trips_in_kafkas_text_format()
    {
        var path = Path.Combine(_temp.Path, "recovery-point-offset-checkpoint");
        var file = new OffsetCheckpointFile(path);
        var offsets = new Dictionary<TopicPartition, long>
        {
            [new TopicPartition("my-topic", 0)] = 42,
            [new TopicPartition("__consumer_offsets", 17)] = 9_000_000_000,
        };
        file.Write(offsets);
        Assert.Equal("0\n2\nmy-topic 0 42\n__consumer_offsets 17 9000000000\n", File.ReadAllText(path));
        Assert.Equal(offsets, file.Read());
        Assert.False(File.Exists(path + ".tmp"));

        // A file written by Kafka itself.
        File.WriteAllText(path, "0\n1\nfoo-bar 3 100\n");
        Assert.Equal(100, file.Read()[new TopicPartition("foo-bar", 3)]);
        File.WriteAllText(path, "1\n1\nfoo 3 100\n");
        Assert.Throws<InvalidDataException>(() => file.Read());
        Assert.Empty(new OffsetCheckpointFile(Path.Combine(_temp.Path, "missing")).Read());
    }

    [Fact]
    public void Leader_epoch_and_partition_metadata_files_round_trip()
    {
        var epochs = new LeaderEpochCheckpointFile(Path.Combine(_temp.Path, "leader-epoch-checkpoint"));
        epochs.Write([new EpochEntry(0, 0), new EpochEntry(4, 1234)]);
        Assert.Equal("0\n2\n0 0\n4 1234\n", File.ReadAllText(epochs.Path));
        Assert.Equal([new EpochEntry(0, 0), new EpochEntry(4, 1234)], epochs.Read());

        var id = Uuid.Parse("fL2QmmQQRb2yPk0z4zlJAw");
        PartitionMetadataFile.Write(_temp.Path, id);
        Assert.Equal("version: 0\ntopic_id: fL2QmmQQRb2yPk0z4zlJAw\n", File.ReadAllText(Path.Combine(_temp.Path, "partition.metadata")));
        Assert.Equal(id, PartitionMetadataFile.Read(_temp.Path));
    }

    [Fact]
    public void Meta_properties_reads_a_file_written_by_kafka()
    {
        File.WriteAllText(Path.Combine(_temp.Path, "meta.properties"),
            "#\n#Thu Nov 27 12:00:00 UTC 2025\nnode.id=3\ndirectory.id=Bv0Tk0v0Qk2xTgGmJvYt6w\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n");
        var meta = MetaProperties.Read(_temp.Path)!;
        Assert.Equal(3, meta.NodeId);
        Assert.Equal("MkU3OEVBNTcwNTJENDM2Qk", meta.ClusterId);
        Assert.Equal(Uuid.Parse("Bv0Tk0v0Qk2xTgGmJvYt6w"), meta.DirectoryId);
        meta.Write(_temp.Path);
        Assert.Equal(meta, MetaProperties.Read(_temp.Path));
    }

    [Fact]
    public void LogConfig_defaults_match_kafka()
    {
        var c = LogConfig.Default;
        Assert.Equal(1024 * 1024 * 1024, c.SegmentBytes);
        Assert.Equal(604_800_000, c.SegmentMs);
        Assert.Equal(10 * 1024 * 1024, c.SegmentIndexBytes);
        Assert.Equal(4096, c.IndexIntervalBytes);
        Assert.Equal(long.MaxValue, c.FlushMessages);
        Assert.Equal(long.MaxValue, c.FlushMs);
        Assert.Equal(604_800_000, c.RetentionMs);
        Assert.Equal(-1, c.RetentionBytes);
        Assert.Equal(1_048_588, c.MaxMessageBytes);
        Assert.False(c.MessageTimestampLogAppendTime);
        Assert.Equal("producer", c.CompressionType);
        Assert.True(c.Delete);
        Assert.False(c.Compact);
        Assert.Equal(1, c.MinInSyncReplicas);
        Assert.All(c.Entries, e => Assert.Equal(ConfigSource.Default, e.Source));
        Assert.Equal(LogConfig.Definitions.Count, c.Entries.Count());
        Assert.Equal(LogConfig.Definitions.Count, LogConfig.Definitions.Select(d => d.Name).Distinct().Count());
    }

    [Fact]
    public void LogConfig_resolves_topic_then_broker_then_default()
    {
        var broker = new Dictionary<string, string>
        {
            ["log.retention.hours"] = "24",
            ["log.retention.minutes"] = "30",
            ["log.roll.hours"] = "2",
            ["message.max.bytes"] = "2000000",
            ["log.cleanup.policy"] = "compact",
        };
        var topic = new Dictionary<string, string> { ["max.message.bytes"] = "5000", ["cleanup.policy"] = "compact,delete" };
        var c = LogConfig.Create(broker, topic);
        Assert.Equal(30 * 60_000, c.RetentionMs); // minutes wins over hours, as Kafka
        Assert.Equal(ConfigSource.Broker, c.GetEntry("retention.ms").Source);
        Assert.Equal(2 * 3_600_000, c.SegmentMs);
        Assert.Equal(5000, c.MaxMessageBytes);
        Assert.Equal(ConfigSource.Topic, c.GetEntry("max.message.bytes").Source);
        Assert.True(c.Compact && c.Delete);
        Assert.Equal(ConfigSource.Default, c.GetEntry("segment.bytes").Source);
        Assert.Equal(new Dictionary<string, string> { ["max.message.bytes"] = "5000", ["cleanup.policy"] = "compact,delete" }, c.Overrides);

        var updated = c.WithOverrides(broker, new Dictionary<string, string> { ["retention.ms"] = "-1" });
        Assert.Equal(-1, updated.RetentionMs);
        Assert.Equal(5000, updated.MaxMessageBytes);
    }

    [Theory]
    [InlineData("segment.bytes", "abc")]
    [InlineData("segment.bytes", "10")]
    [InlineData("cleanup.policy", "shred")]
    [InlineData("message.timestamp.type", "WallClock")]
    [InlineData("min.insync.replicas", "0")]
    [InlineData("min.cleanable.dirty.ratio", "1.5")]
    [InlineData("preallocate", "yes")]
    [InlineData("no.such.config", "1")]
    public void LogConfig_rejects_invalid_values(string name, string value)
    {
        Assert.NotNull(LogConfig.Validate(name, value));
        Assert.Throws<InvalidConfigException>(() =>
            LogConfig.Create(new Dictionary<string, string>(), new Dictionary<string, string> { [name] = value }));
    }

    [Fact]
    public void Leader_epoch_cache_follows_kafkas_rules()
    {
        var cache = new LeaderEpochFileCache(_temp.Path);
        cache.Assign(1, 0);
        cache.Assign(1, 5); // same epoch, later offset: no change
        cache.Assign(3, 10);
        cache.Assign(5, 20);
        Assert.Equal([new EpochEntry(1, 0), new EpochEntry(3, 10), new EpochEntry(5, 20)], cache.Epochs);
        Assert.Equal((5, 30L), cache.EndOffsetFor(5, 30));
        Assert.Equal((3, 20L), cache.EndOffsetFor(4, 30));
        Assert.Equal((0, 0L), cache.EndOffsetFor(0, 30));
        Assert.Equal((-1, -1L), cache.EndOffsetFor(6, 30));
        Assert.Equal(3, cache.EpochForOffset(15));

        cache.TruncateFromStart(12);
        Assert.Equal([new EpochEntry(3, 12), new EpochEntry(5, 20)], cache.Epochs);
        cache.TruncateFromEnd(20);
        Assert.Equal([new EpochEntry(3, 12)], cache.Epochs);
        cache.Assign(2, 15); // a lower epoch at a later offset replaces what contradicts it
        Assert.Equal([new EpochEntry(2, 15)], new LeaderEpochFileCache(_temp.Path).Epochs);
    }
}
