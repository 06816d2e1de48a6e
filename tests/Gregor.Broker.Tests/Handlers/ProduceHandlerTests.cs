using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

public sealed class ProduceHandlerTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public ProduceHandlerTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private async Task<CreateTopicsResponse.CreatableTopicResult> CreateTopicAsync(WireClient client, string name, int partitions = 1)
    {
        var created = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(name, partitions), 7);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);
        return created.Topics[0];
    }

    private static ProduceResponse.PartitionProduceResponse Single(ProduceResponse response) =>
        Assert.Single(Assert.Single(response.Responses).PartitionResponses);

    [Fact]
    public async Task ProduceAssignsConsecutiveBaseOffsetsAndFetchReturnsTheSameBytes()
    {
        await using var client = await _broker.ConnectAsync();
        var topic = await CreateTopicAsync(client, "produce-offsets");
        var first = Requests.Batch(3, "a");
        var second = Requests.Batch(2, "b");

        var r1 = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-offsets", 0, first.ToArray()), 9));
        var r2 = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-offsets", 0, second.ToArray()), 11));
        Assert.Equal((short)ErrorCode.None, r1.ErrorCode);
        Assert.Equal(0, r1.BaseOffset);
        Assert.Equal(-1, r1.LogAppendTimeMs);
        Assert.Equal(0, r1.LogStartOffset);
        Assert.Equal((short)ErrorCode.None, r2.ErrorCode);
        Assert.Equal(3, r2.BaseOffset);

        var fetch = await client.SendAsync<FetchResponse>(Requests.Fetch("", topic.TopicId, 0, 0), 16);
        var partition = Assert.Single(Assert.Single(fetch.Responses).Partitions);
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        Assert.Equal(5, partition.HighWatermark);
        Assert.Equal(5, partition.LastStableOffset);
        Assert.Equal(0, partition.LogStartOffset);
        var records = partition.Records!.Value.ToArray();
        Assert.Equal(first.Length + second.Length, records.Length);
        // Stored as sent: only the base offset (and leader epoch) differ, both outside the CRC.
        Assert.Equal(0, RecordBatch.BaseOffset(records));
        Assert.Equal(3, RecordBatch.BaseOffset(records.AsSpan(first.Length)));
        Assert.Equal(first.AsSpan(RecordBatch.HeaderSize).ToArray(), records.AsSpan(RecordBatch.HeaderSize, first.Length - RecordBatch.HeaderSize).ToArray());
        Assert.Equal(RecordBatch.Crc(first), RecordBatch.Crc(records));
    }

    [Fact]
    public async Task UnknownTopicIsUnknownTopicOrPartitionAndNotCreated()
    {
        await using var client = await _broker.ConnectAsync();
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("no-such-topic", 0, Requests.Batch(1)), 9));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.ErrorCode);
        Assert.Equal(-1, response.BaseOffset);

        var metadata = await client.SendAsync<MetadataResponse>(Requests.Metadata(false, "no-such-topic"), 12);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(metadata.Topics).ErrorCode);
    }

    [Fact]
    public async Task UnknownPartitionIsUnknownTopicOrPartition()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "produce-one-partition");
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-one-partition", 7, Requests.Batch(1)), 9));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.ErrorCode);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(-2)]
    [InlineData(5)]
    public async Task BadAcksIsInvalidRequiredAcks(short acks)
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, $"produce-acks-{acks + 10}");
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce($"produce-acks-{acks + 10}", 0, Requests.Batch(1), acks), 9));
        Assert.Equal((short)ErrorCode.InvalidRequiredAcks, response.ErrorCode);
    }

    [Fact]
    public async Task BadCrcIsCorruptMessageAndNothingIsAppended()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "produce-bad-crc");
        var bad = Requests.Batch(2);
        bad[^1] ^= 0xFF; // inside the CRC-covered records

        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-bad-crc", 0, bad), 9));
        Assert.Equal((short)ErrorCode.CorruptMessage, response.ErrorCode);
        Assert.Equal(-1, response.BaseOffset);

        var latest = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("produce-bad-crc", 0, -1), 7);
        Assert.Equal(0, Assert.Single(Assert.Single(latest.Topics).Partitions).Offset);
        var fetched = await client.SendAsync<FetchResponse>(Requests.Fetch("produce-bad-crc", Uuid.Zero, 0, 0), 12);
        Assert.Equal(0, fetched.Responses[0].Partitions[0].Records!.Value.Length);

        // The partition still takes good data at offset 0.
        var ok = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-bad-crc", 0, Requests.Batch(1)), 9));
        Assert.Equal((short)ErrorCode.None, ok.ErrorCode);
        Assert.Equal(0, ok.BaseOffset);
    }

    [Fact]
    public async Task TwoBatchesOrNoneAreInvalidRecordAsInKafka()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "produce-two-batches");
        var two = Requests.Batch(1).Concat(Requests.Batch(1)).ToArray();
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-two-batches", 0, two), 9));
        Assert.Equal((short)ErrorCode.InvalidRecord, response.ErrorCode);
        Assert.Contains("exactly one record batch", response.ErrorMessage, StringComparison.Ordinal);

        response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-two-batches", 0, []), 9));
        Assert.Equal((short)ErrorCode.InvalidRecord, response.ErrorCode);

        var latest = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("produce-two-batches", 0, -1), 7);
        Assert.Equal(0, latest.Topics[0].Partitions[0].Offset);
    }

    [Fact]
    public async Task ZstdBeforeV7IsUnsupportedCompressionType()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "produce-zstd-v6");
        var builder = new RecordBatchBuilder { CompressionType = CompressionType.Zstd };
        builder.Append(1, null, "zstd"u8.ToArray());
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-zstd-v6", 0, builder.Build()), 6));
        Assert.Equal((short)ErrorCode.UnsupportedCompressionType, response.ErrorCode);
        response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-zstd-v6", 0, builder.Build()), 7));
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
    }

    [Fact]
    public async Task ProduceV2IsUnsupportedVersionPerPartition()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "produce-v2");
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-v2", 0, Requests.Batch(1), 1), 2));
        Assert.Equal((short)ErrorCode.UnsupportedVersion, response.ErrorCode);

        var latest = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("produce-v2", 0, -1), 7);
        Assert.Equal(0, Assert.Single(Assert.Single(latest.Topics).Partitions).Offset);
    }

    [Fact]
    public async Task AcksZeroSendsNoResponse()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "produce-acks0");
        await client.WriteRequestAsync(Requests.Produce("produce-acks0", 0, Requests.Batch(4), 0), 9);

        // The next response on the connection belongs to the next request: acks=0 got none.
        var latest = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("produce-acks0", 0, -1), 7);
        Assert.Equal(4, Assert.Single(Assert.Single(latest.Topics).Partitions).Offset);
    }

    [Fact]
    public async Task LogAppendTimeTopicsReportTheAppendTime()
    {
        await using var client = await _broker.ConnectAsync();
        var created = await client.SendAsync<CreateTopicsResponse>(
            Requests.CreateTopic("produce-log-append-time", 1, 1, false, ("message.timestamp.type", "LogAppendTime")), 7);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-log-append-time", 0, Requests.Batch(2)), 9));
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.InRange(response.LogAppendTimeMs, before - 1000, before + 60_000);
    }

    [Fact]
    public async Task OversizedBatchIsMessageTooLarge()
    {
        await using var client = await _broker.ConnectAsync();
        var created = await client.SendAsync<CreateTopicsResponse>(
            Requests.CreateTopic("produce-too-large", 1, 1, false, ("max.message.bytes", "200")), 7);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);

        var response = Single(await client.SendAsync<ProduceResponse>(Requests.Produce("produce-too-large", 0, Requests.Batch(50)), 9));
        Assert.Equal((short)ErrorCode.MessageTooLarge, response.ErrorCode);
    }
}
