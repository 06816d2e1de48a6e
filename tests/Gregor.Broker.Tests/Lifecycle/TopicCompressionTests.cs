using System.Text;
using Confluent.Kafka;
using Gregor.Protocol.Records;
using ClientCodec = Confluent.Kafka.CompressionType;
using StoredCodec = Gregor.Protocol.Records.CompressionType;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Lifecycle;

public sealed class TopicCompressionTests
{
    [Theory]
    [InlineData("gzip", ClientCodec.None, StoredCodec.Gzip)]
    [InlineData("uncompressed", ClientCodec.Lz4, StoredCodec.None)]
    [InlineData("producer", ClientCodec.Snappy, StoredCodec.Snappy)]
    public async Task TopicCompressionTypeRecompressesOnTheWayIn(string topicCompression, ClientCodec producerCompression, StoredCodec stored)
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        var topic = $"codec-{topicCompression}";
        await Clients.CreateTopicAsync(bs, topic, 1, new Dictionary<string, string> { ["compression.type"] = topicCompression });
        var config = Clients.ProducerConfig(bs);
        config.CompressionType = producerCompression;
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            for (var i = 0; i < 20; i++)
            {
                producer.Produce(topic, new Message<string, string>
                {
                    Key = $"k{i}",
                    Value = $"value {i} {new string('z', 200)}",
                    Headers = [new Header("h", Encoding.UTF8.GetBytes($"x{i}"))],
                });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var log = broker.Server.ReplicaManager.GetPartition(topic, 0)!.Log;
        Assert.Equal(20, log.LogEndOffset);
        using (var read = log.Read(0, 1 << 20, log.LogEndOffset, minOneBatch: true))
        {
            var data = read.Records.Span;
            var position = 0;
            var batches = 0;
            while (RecordBatchReader.TryReadNext(data, ref position, out var start, out var size))
            {
                var batch = data.Slice(start, size);
                Assert.True(RecordBatch.IsValid(batch));
                Assert.Equal(stored, RecordBatch.CompressionType(batch));
                batches++;
            }

            Assert.True(batches > 0);
        }

        var records = Clients.ReadAll(bs, topic, 1, TimeSpan.FromSeconds(20));
        Assert.Equal(20, records.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i, records[i].Offset.Value);
            Assert.Equal($"k{i}", Encoding.UTF8.GetString(records[i].Message.Key!));
            Assert.Equal($"value {i} {new string('z', 200)}", Encoding.UTF8.GetString(records[i].Message.Value!));
            Assert.Equal($"x{i}", Encoding.UTF8.GetString(records[i].Message.Headers.GetLastBytes("h")));
        }
    }
}
