using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// Bad input closes only the connection it came on: a producer on another connection keeps
/// producing, and a batch with a wrong CRC is refused with CORRUPT_MESSAGE, appending nothing.
/// </summary>
public class BadInputTests
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    public static TheoryData<string, byte[]> MalformedInputs()
    {
        var data = new TheoryData<string, byte[]>
        {
            // An HTTP request: its first four bytes read as a ~1.1 GB frame size.
            { "http", Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") },
            { "negative size", [0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0] },
            { "size above socket.request.max.bytes", Frame(new byte[16], sizeOverride: 200 * 1024 * 1024) },
            { "frame too short for a header", Frame([0, 3, 0]) },
        };

        var random = new Random(42);
        var garbage = new byte[64];
        random.NextBytes(garbage);
        garbage[0] = 0x7f; // api key 0x7fxx: unknown
        data.Add("garbage", Frame(garbage));

        var unknownKey = new List<byte>();
        WireEncoding.WriteRequestHeaderV1(unknownKey, apiKey: 999, apiVersion: 0, correlationId: 1, "bad");
        data.Add("unknown api key", Frame(unknownKey.ToArray()));

        // A Metadata v1 request whose topics array claims three topics but the frame ends.
        var truncated = new List<byte>();
        WireEncoding.WriteRequestHeaderV1(truncated, apiKey: 3, apiVersion: 1, correlationId: 2, "bad");
        WireEncoding.WriteInt32(truncated, 3);
        WireEncoding.WriteInt16(truncated, 10);
        data.Add("truncated request", Frame(truncated.ToArray()));
        return data;
    }

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public async Task MalformedInputClosesOnlyThatConnection(string name, byte[] bytes)
    {
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, "steady", 1);

        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(broker.BootstrapServers)).Build();
        var before = await producer.ProduceAsync("steady", new Message<string, string> { Key = "k", Value = "before" });
        Assert.Equal(0, before.Offset.Value);

        // A well-behaved raw connection opened before the bad one must survive it.
        using var bystander = await RawConnection.ConnectAsync(broker.BootstrapServers);

        using (var bad = await RawConnection.ConnectAsync(broker.BootstrapServers))
        {
            await bad.SendRawAsync(bytes);
            Assert.True(await bad.WaitForCloseAsync(CloseTimeout), $"{name}: the broker should close the connection");
        }

        await bystander.SendFrameAsync(ApiVersionsV0(correlationId: 77));
        var response = await bystander.ReceiveFrameAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(77, BinaryPrimitives.ReadInt32BigEndian(response));
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4)));

        var after = await producer.ProduceAsync("steady", new Message<string, string> { Key = "k", Value = "after" });
        Assert.Equal(1, after.Offset.Value);
    }

    [Fact]
    public async Task ConnectionClosedMidFrameDoesNotDisturbOthers()
    {
        await using var broker = await InProcessBroker.StartAsync();
        using (var half = await RawConnection.ConnectAsync(broker.BootstrapServers))
        {
            var frame = Frame(ApiVersionsV0(1));
            await half.SendRawAsync(frame[..(frame.Length / 2)]);
        }

        using var other = await RawConnection.ConnectAsync(broker.BootstrapServers);
        await other.SendFrameAsync(ApiVersionsV0(correlationId: 5));
        var response = await other.ReceiveFrameAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(response));
    }

    [Fact]
    public async Task BatchWithWrongCrcGetsCorruptMessageAndNothingIsAppended()
    {
        const string topic = "crc";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        var batch = WireEncoding.RecordBatchV2(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), (Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v")));
        var damaged = (byte[])batch.Clone();
        damaged[^1] ^= 0x55; // inside the CRC's coverage

        using var connection = await RawConnection.ConnectAsync(broker.BootstrapServers);
        await connection.SendFrameAsync(WireEncoding.ProduceRequestV3(correlationId: 11, topic, 0, damaged));
        var (error, _) = WireEncoding.ParseProduceResponseV3(await connection.ReceiveFrameAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, error); // CORRUPT_MESSAGE

        using (var consumer = new ConsumerBuilder<string, string>(Clients.ConsumerConfig(broker.BootstrapServers)).Build())
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
            Assert.Equal(0, watermarks.High.Value);
        }

        // The same connection stays usable, and the intact batch lands at offset 0.
        await connection.SendFrameAsync(WireEncoding.ProduceRequestV3(correlationId: 12, topic, 0, batch));
        var (ok, baseOffset) = WireEncoding.ParseProduceResponseV3(await connection.ReceiveFrameAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, ok);
        Assert.Equal(0, baseOffset);
    }

    private static byte[] ApiVersionsV0(int correlationId)
    {
        var body = new List<byte>();
        WireEncoding.WriteRequestHeaderV1(body, apiKey: 18, apiVersion: 0, correlationId, "raw-test");
        return body.ToArray();
    }

    private static byte[] Frame(byte[] body, int? sizeOverride = null)
    {
        var frame = new byte[body.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(frame, sizeOverride ?? body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }
}
