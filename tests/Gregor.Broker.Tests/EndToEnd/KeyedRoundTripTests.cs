using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Gregor.Protocol.Partitioning;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// The single-node promise: what a real client produces with acks=all comes back from the log,
/// per partition in order, at contiguous offsets from 0, keyed records on murmur2's partition,
/// with keys, values, headers and timestamps intact — and again after a restart.
/// </summary>
public class KeyedRoundTripTests
{
    private const int RecordCount = 100_000;
    private const int PartitionCount = 6;
    private const string Topic = "keyed-orders";
    private static readonly long BaseTimestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public async Task HundredThousandKeyedRecordsComeBackIntactAndSurviveRestart()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, Topic, PartitionCount);

        var delivered = Produce(broker.BootstrapServers);

        // Same key → murmur2's partition (the Java client's choice), and per partition the records
        // got contiguous offsets from 0 in the order they were sent.
        var nextOffset = new long[PartitionCount];
        for (var i = 0; i < RecordCount; i++)
        {
            var (partition, offset) = delivered[i];
            Assert.Equal(Murmur2Partitioner.Partition(Key(i), PartitionCount), partition);
            Assert.Equal(nextOffset[partition], offset);
            nextOffset[partition]++;
        }

        Assert.All(nextOffset, n => Assert.True(n > 0, "every partition received records"));

        AssertReadBackMatches(broker.BootstrapServers, delivered);

        await broker.RestartAsync();
        AssertReadBackMatches(broker.BootstrapServers, delivered);
    }

    private static (int Partition, long Offset)[] Produce(string bootstrapServers)
    {
        var config = Clients.ProducerConfig(bootstrapServers);
        config.Partitioner = Partitioner.Murmur2;
        config.QueueBufferingMaxMessages = RecordCount * 2;
        config.BatchSize = 1_000_000;

        var delivered = new (int Partition, long Offset)[RecordCount];
        var errors = 0;
        var reports = 0;
        using (var producer = new ProducerBuilder<byte[], byte[]>(config).Build())
        {
            for (var i = 0; i < RecordCount; i++)
            {
                var index = i;
                producer.Produce(Topic, Message(i), report =>
                {
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref errors);
                    }
                    else
                    {
                        delivered[index] = (report.Partition.Value, report.Offset.Value);
                    }

                    Interlocked.Increment(ref reports);
                });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(120)));
        }

        Assert.Equal(RecordCount, reports);
        Assert.Equal(0, errors);
        return delivered;
    }

    private static void AssertReadBackMatches(string bootstrapServers, (int Partition, long Offset)[] delivered)
    {
        var records = Clients.ReadAll(bootstrapServers, Topic, PartitionCount, TimeSpan.FromSeconds(120));
        Assert.Equal(RecordCount, records.Count);

        var seen = new bool[RecordCount];
        var lastOffset = Enumerable.Repeat(-1L, PartitionCount).ToArray();
        foreach (var record in records)
        {
            var headers = record.Message.Headers;
            var index = BinaryPrimitives.ReadInt32BigEndian(headers.GetLastBytes("seq"));
            Assert.False(seen[index], $"record {index} was read twice");
            seen[index] = true;

            var partition = record.Partition.Value;
            Assert.Equal(delivered[index], (partition, record.Offset.Value));
            Assert.Equal(lastOffset[partition] + 1, record.Offset.Value);
            lastOffset[partition] = record.Offset.Value;

            var expected = Message(index);
            Assert.Equal(expected.Key, record.Message.Key);
            Assert.Equal(expected.Value, record.Message.Value);
            Assert.Equal(TimestampType.CreateTime, record.Message.Timestamp.Type);
            Assert.Equal(BaseTimestamp + index, record.Message.Timestamp.UnixTimestampMs);
            Assert.Equal(expected.Headers.Count, headers.Count);
            for (var h = 0; h < headers.Count; h++)
            {
                Assert.Equal(expected.Headers[h].Key, headers[h].Key);
                Assert.Equal(expected.Headers[h].GetValueBytes(), headers[h].GetValueBytes());
            }
        }

        Assert.All(seen, Assert.True);
    }

    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"customer-{i % 5_000}");

    private static Message<byte[], byte[]> Message(int i)
    {
        var seq = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(seq, i);
        var headers = new Headers { { "seq", seq }, { "source", Encoding.UTF8.GetBytes("keyed-test") } };
        if (i % 100 == 0)
        {
            headers.Add("empty", null);
        }

        return new Message<byte[], byte[]>
        {
            Key = Key(i),
            Value = Encoding.UTF8.GetBytes($"order {i}: {new string('x', i % 200)}"),
            Headers = headers,
            Timestamp = new Timestamp(BaseTimestamp + i, TimestampType.CreateTime),
        };
    }
}
