using Gregor.Host;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>InitProducerId, idempotent produce over the wire and DescribeProducers.</summary>
public sealed class IdempotentProduceTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public IdempotentProduceTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private static async Task CreateTopicAsync(WireClient client, string name)
    {
        var created = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(name, 1), 7);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);
    }

    private static async Task<(long ProducerId, short Epoch)> InitProducerIdAsync(WireClient client, short version = 4)
    {
        var response = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, version);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        return (response.ProducerId, response.ProducerEpoch);
    }

    private static byte[] Batch(long producerId, short epoch, int baseSequence, int records)
    {
        // Current timestamps: producer state expires producer.id.expiration.ms after the last batch's timestamp.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence };
        for (var i = 0; i < records; i++)
        {
            builder.Append(now + i, null, System.Text.Encoding.UTF8.GetBytes($"seq-{baseSequence + i}"));
        }

        return builder.Build();
    }

    private static async Task<ProduceResponse.PartitionProduceResponse> ProduceAsync(WireClient client, string topic, byte[] batch)
    {
        // A copy each time: the broker patches the request frame, the test resends the same bytes.
        var response = await client.SendAsync<ProduceResponse>(Requests.Produce(topic, 0, batch.ToArray()), 11);
        return Assert.Single(Assert.Single(response.Responses).PartitionResponses);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public async Task InitProducerIdHandsOutDistinctIdsAtEpochZero(short version)
    {
        await using var client = await _broker.ConnectAsync();
        var (first, firstEpoch) = await InitProducerIdAsync(client, version);
        var (second, secondEpoch) = await InitProducerIdAsync(client, version);
        Assert.True(first >= 0);
        Assert.NotEqual(first, second);
        Assert.Equal(0, firstEpoch);
        Assert.Equal(0, secondEpoch);
    }

    [Fact]
    public async Task ATransactionalIdKeepsItsProducerIdAndBumpsTheEpochOnEachInit()
    {
        await using var client = await _broker.ConnectAsync();
        InitProducerIdRequest Init(string id, int timeoutMs = 60_000, long producerId = -1, short epoch = -1) =>
            new() { TransactionalId = id, TransactionTimeoutMs = timeoutMs, ProducerId = producerId, ProducerEpoch = epoch };

        var first = await client.SendAsync<InitProducerIdResponse>(Init("wire-txn"), 4);
        var second = await client.SendAsync<InitProducerIdResponse>(Init("wire-txn"), 4);
        Assert.Equal((short)ErrorCode.None, first.ErrorCode);
        Assert.Equal(first.ProducerId, second.ProducerId);
        Assert.Equal(first.ProducerEpoch + 1, second.ProducerEpoch);

        // KIP-360: re-initializing as an older instance is fenced (INVALID_PRODUCER_EPOCH before v4).
        var stale = await client.SendAsync<InitProducerIdResponse>(Init("wire-txn", producerId: first.ProducerId, epoch: first.ProducerEpoch), 4);
        Assert.Equal((short)ErrorCode.ProducerFenced, stale.ErrorCode);
        var staleV3 = await client.SendAsync<InitProducerIdResponse>(Init("wire-txn", producerId: first.ProducerId, epoch: first.ProducerEpoch), 3);
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, staleV3.ErrorCode);

        var tooLong = await client.SendAsync<InitProducerIdResponse>(Init("wire-txn", timeoutMs: 900_001), 4);
        Assert.Equal((short)ErrorCode.InvalidTransactionTimeout, tooLong.ErrorCode);
        var empty = await client.SendAsync<InitProducerIdResponse>(Init(""), 4);
        Assert.Equal((short)ErrorCode.InvalidRequest, empty.ErrorCode);
    }

    [Fact]
    public async Task TheSameProduceRequestSentTwiceIsWrittenOnceAndAnsweredWithTheOriginalOffset()
    {
        const string topic = "idempotent-resend";
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, topic);
        var (producerId, epoch) = await InitProducerIdAsync(client);

        Assert.Equal(0, (await ProduceAsync(client, topic, Batch(producerId, epoch, 0, 3))).BaseOffset);
        var second = Batch(producerId, epoch, 3, 2);
        var original = await ProduceAsync(client, topic, second);
        var retried = await ProduceAsync(client, topic, second);
        Assert.Equal((short)ErrorCode.None, original.ErrorCode);
        Assert.Equal(3, original.BaseOffset);
        Assert.Equal((short)ErrorCode.None, retried.ErrorCode);
        Assert.Equal(3, retried.BaseOffset);

        // A gap is refused, an old epoch too; the log still ends at 5.
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, (await ProduceAsync(client, topic, Batch(producerId, epoch, 9, 1))).ErrorCode);
        var next = await ProduceAsync(client, topic, Batch(producerId, epoch, 5, 1));
        Assert.Equal(5, next.BaseOffset);

        var listed = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets(topic, 0, -1), 7);
        Assert.Equal(6, listed.Topics[0].Partitions[0].Offset);

        var described = await client.SendAsync<DescribeProducersResponse>(new DescribeProducersRequest
        {
            Topics = [new DescribeProducersRequest.TopicRequest { Name = topic, PartitionIndexes = [0, 3] }],
        }, 0);
        var partitions = Assert.Single(described.Topics).Partitions;
        Assert.Equal((short)ErrorCode.None, partitions[0].ErrorCode);
        var producer = Assert.Single(partitions[0].ActiveProducers);
        Assert.Equal(producerId, producer.ProducerId);
        Assert.Equal(epoch, producer.ProducerEpoch);
        Assert.Equal(5, producer.LastSequence);
        Assert.Equal(-1, producer.CurrentTxnStartOffset);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, partitions[1].ErrorCode);
    }

    [Fact]
    public async Task AnEpochBumpRestartsTheSequenceAndFencesTheOldEpoch()
    {
        const string topic = "idempotent-bump";
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, topic);
        var (producerId, _) = await InitProducerIdAsync(client);

        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(client, topic, Batch(producerId, 0, 0, 2))).ErrorCode);
        // KIP-360: an idempotent producer bumps its own epoch and restarts at sequence 0.
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, (await ProduceAsync(client, topic, Batch(producerId, 1, 2, 1))).ErrorCode);
        Assert.Equal(2, (await ProduceAsync(client, topic, Batch(producerId, 1, 0, 1))).BaseOffset);
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, (await ProduceAsync(client, topic, Batch(producerId, 0, 2, 1))).ErrorCode);
    }

    [Fact]
    public async Task ProducerIdsAndProducerStateSurviveARestart()
    {
        using var directory = new TempDirectory("gregor-idempotent-restart");
        var properties = new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = directory.Path,
        };
        long producerId;
        var batch = Array.Empty<byte>();
        await using (var first = new BrokerServer(properties))
        {
            await first.StartAsync();
            await using var client = await WireClient.ConnectAsync(first.BoundEndpoints[0]);
            await CreateTopicAsync(client, "idempotent-restart");
            (producerId, _) = await InitProducerIdAsync(client);
            batch = Batch(producerId, 0, 0, 4);
            Assert.Equal(0, (await ProduceAsync(client, "idempotent-restart", batch)).BaseOffset);
        }

        await using var second = new BrokerServer(properties);
        await second.StartAsync();
        await using var again = await WireClient.ConnectAsync(second.BoundEndpoints[0]);
        var retried = await ProduceAsync(again, "idempotent-restart", batch);
        Assert.Equal((short)ErrorCode.None, retried.ErrorCode);
        Assert.Equal(0, retried.BaseOffset);
        Assert.Equal(4, (await ProduceAsync(again, "idempotent-restart", Batch(producerId, 0, 4, 1))).BaseOffset);

        // The id block was persisted before use: a restarted broker never hands an id out twice.
        var (next, _) = await InitProducerIdAsync(again);
        Assert.True(next > producerId, $"{next} after {producerId}");
        Assert.True(File.Exists(Path.Combine(directory.Path, "idempotent-restart-0", "00000000000000000004.snapshot")));
    }
}
