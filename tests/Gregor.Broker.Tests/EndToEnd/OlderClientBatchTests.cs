using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// Batches as older clients send them, produced over a raw connection (the bytes are exactly the
/// client's) and read back with Confluent.Kafka: sarama 1.22 leaves the header's max timestamp at
/// -1, which once wedged the partition the first time a time-index entry was due.
/// </summary>
public class OlderClientBatchTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task BatchesWithoutMaxTimestampAreStoredIndexedAndThePartitionKeepsTakingWrites()
    {
        const string topic = "sarama";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);
        var first = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;

        // Three 5,000-byte records, one per produce request, each batch's max timestamp -1.
        using var connection = await RawConnection.ConnectAsync(broker.BootstrapServers);
        for (var i = 0; i < 3; i++)
        {
            var value = new byte[5_000];
            Encoding.ASCII.GetBytes($"record-{i}").CopyTo(value, 0);
            var batch = WireEncoding.RecordBatchV2(first + i * 1_000, maxTimestamp: -1, lastOffsetDelta: 0, recordCount: 1,
                [new HandBuiltRecord(0, 0, Encoding.ASCII.GetBytes($"k{i}"), value)]);
            await connection.SendFrameAsync(WireEncoding.ProduceRequestV3(correlationId: 100 + i, topic, 0, batch));
            var (error, baseOffset) = WireEncoding.ParseProduceResponseV3(await connection.ReceiveFrameAsync(Timeout));
            Assert.Equal((0, (long)i), (error, baseOffset));
        }

        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(broker.BootstrapServers)).Build())
        {
            var fourth = await producer.ProduceAsync(topic, new Message<string, string> { Key = "k3", Value = "from librdkafka" });
            Assert.Equal(3, fourth.Offset.Value);
        }

        var records = Clients.ReadAll(broker.BootstrapServers, topic, 1, TimeSpan.FromSeconds(30));
        Assert.Equal([0L, 1, 2, 3], records.Select(r => r.Offset.Value));
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith($"record-{i}", Encoding.ASCII.GetString(records[i].Message.Value!), StringComparison.Ordinal);
            Assert.Equal(5_000, records[i].Message.Value!.Length);
            Assert.Equal(first + i * 1_000, records[i].Message.Timestamp.UnixTimestampMs);
        }

        // ListOffsets by time finds them, which needs the max timestamp the broker took from the records.
        using var consumer = new ConsumerBuilder<byte[], byte[]>(Clients.ConsumerConfig(broker.BootstrapServers)).Build();
        var found = consumer.OffsetsForTimes([new TopicPartitionTimestamp(topic, 0, new Timestamp(first + 500, TimestampType.CreateTime))], Timeout);
        Assert.Equal(1, found.Single().Offset.Value);
        found = consumer.OffsetsForTimes([new TopicPartitionTimestamp(topic, 0, new Timestamp(first + 2_000, TimestampType.CreateTime))], Timeout);
        Assert.Equal(2, found.Single().Offset.Value);
    }

    [Fact]
    public async Task LastOffsetDeltaThatDisagreesWithTheRecordsIsInvalidRecordAndTheConnectionCarriesOn()
    {
        const string topic = "miscounted";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        HandBuiltRecord[] three =
        [
            new(0, 0, null, "a"u8.ToArray()),
            new(1, 1, null, "b"u8.ToArray()),
            new(2, 2, null, "c"u8.ToArray()),
        ];

        using var connection = await RawConnection.ConnectAsync(broker.BootstrapServers);
        var miscounted = WireEncoding.RecordBatchV2(now, now + 2, lastOffsetDelta: 1, recordCount: 2, three);
        await connection.SendFrameAsync(WireEncoding.ProduceRequestV3(correlationId: 1, topic, 0, miscounted));
        Assert.Equal(87, WireEncoding.ParseProduceResponseV3(await connection.ReceiveFrameAsync(Timeout)).ErrorCode); // INVALID_RECORD

        var right = WireEncoding.RecordBatchV2(now, now + 2, lastOffsetDelta: 2, recordCount: 3, three);
        await connection.SendFrameAsync(WireEncoding.ProduceRequestV3(correlationId: 2, topic, 0, right));
        Assert.Equal((0, 0L), WireEncoding.ParseProduceResponseV3(await connection.ReceiveFrameAsync(Timeout)));

        var records = Clients.ReadAll(broker.BootstrapServers, topic, 1, TimeSpan.FromSeconds(30));
        Assert.Equal(["a", "b", "c"], records.Select(r => Encoding.ASCII.GetString(r.Message.Value!)));
    }
}
