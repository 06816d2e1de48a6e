using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>Batches the client compresses are stored as sent (still compressed) and read back intact.</summary>
public class CompressionTests
{
    [Theory]
    [InlineData(CompressionType.Gzip, 1)]
    [InlineData(CompressionType.Snappy, 2)]
    [InlineData(CompressionType.Lz4, 3)]
    [InlineData(CompressionType.Zstd, 4)]
    public async Task CompressedBatchesAreStoredAsSentAndReadBack(CompressionType codec, int codecId)
    {
        const int count = 5_000;
        var topic = $"compressed-{codec.ToString().ToLowerInvariant()}";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        var config = Clients.ProducerConfig(broker.BootstrapServers);
        config.CompressionType = codec;
        config.LingerMs = 20;
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            for (var i = 0; i < count; i++)
            {
                // Repetitive values so every codec actually shrinks them.
                producer.Produce(topic, new Message<string, string> { Key = $"k{i % 50}", Value = $"value {i} " + new string('z', 300) });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        var records = Clients.ReadAll(broker.BootstrapServers, topic, 1, TimeSpan.FromSeconds(60));
        Assert.Equal(count, records.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, records[i].Offset.Value);
            Assert.Equal(Encoding.UTF8.GetBytes($"k{i % 50}"), records[i].Message.Key);
            Assert.Equal(Encoding.UTF8.GetBytes($"value {i} " + new string('z', 300)), records[i].Message.Value);
        }

        // On disk the batches still carry the client's codec, and they are much smaller than the data.
        var batches = SegmentFiles.Segments(broker.DataDirectory, topic, 0).SelectMany(SegmentFiles.ReadBatches).ToList();
        Assert.NotEmpty(batches);
        Assert.All(batches, b => Assert.Equal(codecId, b.CompressionCodec));
        Assert.Equal(count, batches.Sum(b => b.RecordCount));
        Assert.True(batches.Sum(b => (long)b.Size) < count * 300L / 4, "stored bytes should be compressed");
    }
}
