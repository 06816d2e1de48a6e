using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// A crash mid-write leaves a torn batch at the end of the active segment. On restart the broker
/// truncates to the last whole batch, rebuilds missing indexes and serves everything before it.
/// </summary>
public class CrashRecoveryTests
{
    [Fact]
    public async Task TornTailIsTruncatedToLastWholeBatchAndIndexesAreRebuilt()
    {
        const string topic = "torn";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        var config = Clients.ProducerConfig(broker.BootstrapServers);
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            for (var i = 0; i < 1_000; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));

            // One more batch on its own: the one the "crash" will tear.
            var last = await producer.ProduceAsync(topic, new Message<string, string> { Key = "tail", Value = "torn away" });
            Assert.Equal(1_000, last.Offset.Value);
        }

        await broker.StopAsync();

        var segment = SegmentFiles.Segments(broker.DataDirectory, topic, 0).Last();
        var batches = SegmentFiles.ReadBatches(segment);
        var torn = batches[^1];
        Assert.Equal(1_000, torn.BaseOffset);
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(torn.Position + (torn.Size / 2));
        }

        var partitionDir = SegmentFiles.PartitionDirectory(broker.DataDirectory, topic, 0);
        foreach (var index in Directory.GetFiles(partitionDir, "*.index").Concat(Directory.GetFiles(partitionDir, "*.timeindex")))
        {
            File.Delete(index);
        }

        await broker.StartAgainAsync();

        using (var consumer = new ConsumerBuilder<string, string>(Clients.ConsumerConfig(broker.BootstrapServers)).Build())
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
            Assert.Equal(0, watermarks.Low.Value);
            Assert.Equal(1_000, watermarks.High.Value);

            // A read from the middle goes through the rebuilt offset index.
            consumer.Assign(new TopicPartitionOffset(topic, 0, 500));
            var middle = consumer.Consume(TimeSpan.FromSeconds(30));
            Assert.NotNull(middle);
            Assert.Equal(500, middle.Offset.Value);
            Assert.Equal("v500", middle.Message.Value);
        }

        Assert.NotEmpty(Directory.GetFiles(partitionDir, "*.index"));
        Assert.NotEmpty(Directory.GetFiles(partitionDir, "*.timeindex"));

        var records = Clients.ReadAll(broker.BootstrapServers, topic, 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1_000, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            Assert.Equal(i, records[i].Offset.Value);
            Assert.Equal(Encoding.UTF8.GetBytes($"v{i}"), records[i].Message.Value);
        }

        // The log continues where the whole batches end.
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            var next = await producer.ProduceAsync(topic, new Message<string, string> { Key = "after", Value = "recovery" });
            Assert.Equal(1_000, next.Offset.Value);
        }
    }
}
