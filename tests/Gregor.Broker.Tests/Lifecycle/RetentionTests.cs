using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.TestKit;
using Xunit;
using static Gregor.Broker.Tests.Lifecycle.LifecycleHelpers;

namespace Gregor.Broker.Tests.Lifecycle;

public sealed class RetentionTests
{
    [Fact]
    public async Task RetentionMsDeletesOldSegmentsKeepsActiveAndConsumerResets()
    {
        await using var broker = await InProcessBroker.StartAsync(FastRetention());
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "ret-ms", 1, new Dictionary<string, string>
        {
            // Long enough that the fresh records never expire while the test runs (a loaded
            // machine once took over 3 s, and retention then moved the start again mid-assert).
            ["retention.ms"] = "60000",
            ["segment.bytes"] = "1024",
        });

        // Records written "an hour ago" are past retention.ms at once; the last ones are new.
        await ProduceAsync(bs, "ret-ms", 0, 60, DateTime.UtcNow.AddHours(-1));
        await ProduceAsync(bs, "ret-ms", 0, 3, prefix: "fresh");
        var log = broker.Server.ReplicaManager.GetPartition("ret-ms", 0)!.Log;
        var activeBase = log.SegmentBaseOffsets[^1];

        // Retention stops at the segment holding the first fresh record (offset 60).
        var settled = log.SegmentBaseOffsets.Where(b => b <= 60).Max();
        await EventuallyAsync(() => log.LogStartOffset, s => s == settled, TimeSpan.FromSeconds(10));
        Assert.True(log.LogStartOffset > 0);
        Assert.Equal(63, log.LogEndOffset);
        // The active segment (holding the fresh records) stays; the start is a segment boundary.
        Assert.Contains(activeBase, log.SegmentBaseOffsets);
        Assert.Equal(log.SegmentBaseOffsets[0], log.LogStartOffset);
        Assert.True(log.LogStartOffset <= 60);

        using var consumer = new ConsumerBuilder<string, string>(Clients.ConsumerConfig(bs)).Build();
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition("ret-ms", 0), TimeSpan.FromSeconds(10));
        Assert.Equal(log.LogStartOffset, watermarks.Low.Value);
        Assert.Equal(63, watermarks.High.Value);

        // A consumer positioned below the log start offset gets OFFSET_OUT_OF_RANGE and resets (earliest).
        consumer.Assign(new TopicPartitionOffset("ret-ms", 0, 0));
        var first = consumer.Consume(TimeSpan.FromSeconds(10));
        Assert.NotNull(first);
        Assert.Equal(log.LogStartOffset, first.Offset.Value);
    }

    [Fact]
    public async Task ConsumerWithResetNoneBelowStartGetsOffsetOutOfRange()
    {
        await using var broker = await InProcessBroker.StartAsync(FastRetention());
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "ret-none", 1, new Dictionary<string, string> { ["segment.bytes"] = "1024" });
        await ProduceAsync(bs, "ret-none", 0, 30);
        using (var admin = Clients.Admin(bs))
        {
            await admin.DeleteRecordsAsync([new TopicPartitionOffset("ret-none", 0, 20)]);
        }

        var config = Clients.ConsumerConfig(bs);
        config.AutoOffsetReset = AutoOffsetReset.Error;
        using var consumer = new ConsumerBuilder<string, string>(config).Build();
        consumer.Assign(new TopicPartitionOffset("ret-none", 0, 5));
        var error = Assert.Throws<ConsumeException>(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
        });
        Assert.Equal(ErrorCode.Local_AutoOffsetReset, error.Error.Code);
    }

    [Fact]
    public async Task RetentionBytesKeepsPartitionUnderLimitPlusOneSegment()
    {
        await using var broker = await InProcessBroker.StartAsync(FastRetention());
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "ret-bytes", 1, new Dictionary<string, string>
        {
            ["retention.bytes"] = "3000",
            ["segment.bytes"] = "1000",
        });
        await ProduceAsync(bs, "ret-bytes", 0, 100);
        var log = broker.Server.ReplicaManager.GetPartition("ret-bytes", 0)!.Log;
        await EventuallyAsync(() => log.Size, s => s <= 3000 + 1000, TimeSpan.FromSeconds(10));
        Assert.True(log.Size <= 3000 + 1000, $"size {log.Size}");
        Assert.True(log.LogStartOffset > 0);
        Assert.Equal(100, log.LogEndOffset);
        var read = Clients.ReadAll(bs, "ret-bytes", 1, TimeSpan.FromSeconds(20));
        Assert.Equal(100 - log.LogStartOffset, read.Count);
        Assert.Equal(log.LogStartOffset, read[0].Offset.Value);
        Assert.Equal($"v99-{new string('x', 80)}", System.Text.Encoding.UTF8.GetString(read[^1].Message.Value!));
    }

    [Fact]
    public async Task DeleteRecordsMovesLowWatermarkForListOffsetsAndFetch()
    {
        await using var broker = await InProcessBroker.StartAsync(FastRetention());
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "delrec", 2, new Dictionary<string, string> { ["segment.bytes"] = "1024" });
        await ProduceAsync(bs, "delrec", 0, 40);
        await ProduceAsync(bs, "delrec", 1, 10);

        using var admin = Clients.Admin(bs);
        var results = await admin.DeleteRecordsAsync(
        [
            new TopicPartitionOffset("delrec", 0, 25),
            new TopicPartitionOffset("delrec", 1, Offset.End),
        ]);
        Assert.Equal(25, results.Single(r => r.Partition == 0).Offset.Value);
        Assert.Equal(10, results.Single(r => r.Partition == 1).Offset.Value);

        var log = broker.Server.ReplicaManager.GetPartition("delrec", 0)!.Log;
        Assert.Equal(25, log.LogStartOffset);
        Assert.True(log.SegmentBaseOffsets[0] <= 25);
        Assert.True(log.SegmentBaseOffsets.Count < 40, "whole segments below the new start are removed");

        using var consumer = new ConsumerBuilder<string, string>(Clients.ConsumerConfig(bs)).Build();
        Assert.Equal(25, consumer.QueryWatermarkOffsets(new TopicPartition("delrec", 0), TimeSpan.FromSeconds(10)).Low.Value);
        consumer.Assign(new TopicPartitionOffset("delrec", 0, Offset.Beginning));
        var first = consumer.Consume(TimeSpan.FromSeconds(10));
        Assert.Equal(25, first.Offset.Value);
        Assert.Equal($"v25-{new string('x', 80)}", first.Message.Value);

        // Above the high watermark: OFFSET_OUT_OF_RANGE, nothing moves.
        var failure = await Assert.ThrowsAsync<DeleteRecordsException>(() =>
            admin.DeleteRecordsAsync([new TopicPartitionOffset("delrec", 0, 41)]));
        Assert.Equal(ErrorCode.OffsetOutOfRange, failure.Results.Single().Error.Code);
        Assert.Equal(25, log.LogStartOffset);

        // Survives a restart (log-start-offset checkpoint).
        await broker.RestartAsync();
        Assert.Equal(25, broker.Server.ReplicaManager.GetPartition("delrec", 0)!.Log.LogStartOffset);
    }

    [Fact]
    public async Task RecordLargerThanMaxMessageBytesIsRejected()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "too-large", 1, new Dictionary<string, string> { ["max.message.bytes"] = "2000" });
        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(bs)).Build();
        await producer.ProduceAsync("too-large", new Message<string, string> { Key = "a", Value = "small" });
        var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync("too-large", new Message<string, string> { Key = "b", Value = new string('y', 5000) }));
        Assert.Equal(ErrorCode.MsgSizeTooLarge, error.Error.Code);
        Assert.Equal(1, broker.Server.ReplicaManager.GetPartition("too-large", 0)!.Log.LogEndOffset);
    }
}
