using System.Diagnostics;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

public sealed class FetchHandlerTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public FetchHandlerTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private async Task<Uuid> CreateTopicAsync(WireClient client, string name)
    {
        var created = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(name), 7);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);
        return created.Topics[0].TopicId;
    }

    private static FetchResponse.PartitionData Single(FetchResponse response) =>
        Assert.Single(Assert.Single(response.Responses).Partitions);

    [Fact]
    public async Task LongPollIsWokenByAnAppend()
    {
        await using var consumer = await _broker.ConnectAsync();
        await using var producer = await _broker.ConnectAsync();
        var topicId = await CreateTopicAsync(consumer, "fetch-long-poll");

        var stopwatch = Stopwatch.StartNew();
        var fetch = consumer.SendAsync<FetchResponse>(Requests.Fetch("", topicId, 0, 0, maxWaitMs: 20_000), 16);
        await Task.Delay(300);
        Assert.False(fetch.IsCompleted, "The fetch should park: nothing to read yet.");

        var produced = await producer.SendAsync<ProduceResponse>(Requests.Produce("fetch-long-poll", 0, Requests.Batch(2)), 9);
        Assert.Equal((short)ErrorCode.None, produced.Responses[0].PartitionResponses[0].ErrorCode);

        var partition = Single(await fetch);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"Fetch took {stopwatch.Elapsed}.");
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        Assert.Equal(2, partition.HighWatermark);
        Assert.Equal(0, RecordBatch.BaseOffset(partition.Records!.Value.Span));
    }

    [Fact]
    public async Task MaxWaitExpiresWithAnEmptyResponse()
    {
        await using var client = await _broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "fetch-max-wait");
        var stopwatch = Stopwatch.StartNew();
        var partition = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("", topicId, 0, 0, maxWaitMs: 400), 16));
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(350), $"Returned after {stopwatch.Elapsed}.");
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        Assert.Equal(0, partition.HighWatermark);
        Assert.Equal(0, partition.Records!.Value.Length);
    }

    [Fact]
    public async Task PartitionMaxBytesStillReturnsOneWholeBatch()
    {
        await using var client = await _broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "fetch-min-one");
        var batch1 = Requests.Batch(20);
        var batch2 = Requests.Batch(20);
        await client.SendAsync<ProduceResponse>(Requests.Produce("fetch-min-one", 0, batch1), 9);
        await client.SendAsync<ProduceResponse>(Requests.Produce("fetch-min-one", 0, batch2), 9);

        var partition = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("", topicId, 0, 0, partitionMaxBytes: 10), 16));
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        Assert.Equal(batch1.Length, partition.Records!.Value.Length);

        // Inside the second batch: the whole batch containing the offset comes back.
        partition = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("", topicId, 0, 25, partitionMaxBytes: 10), 16));
        Assert.Equal(20, RecordBatch.BaseOffset(partition.Records!.Value.Span));
        Assert.Equal(batch2.Length, partition.Records!.Value.Length);
    }

    [Fact]
    public async Task MaxBytesSpansPartitionsButTheFirstAlwaysGetsAWholeBatch()
    {
        await using var client = await _broker.ConnectAsync();
        var created = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("fetch-max-bytes", 2), 7);
        var topicId = created.Topics[0].TopicId;
        var batch0 = Requests.Batch(10, "p0");
        var batch1 = Requests.Batch(10, "p1");
        await client.SendAsync<ProduceResponse>(Requests.Produce("fetch-max-bytes", 0, batch0), 9);
        await client.SendAsync<ProduceResponse>(Requests.Produce("fetch-max-bytes", 1, batch1), 9);

        var request = Requests.Fetch("", topicId, 0, 0);
        request.Topics[0].Partitions.Add(new FetchRequest.FetchPartition { Partition = 1, FetchOffset = 0, PartitionMaxBytes = 1 << 20 });
        request.MaxBytes = 10;
        var response = await client.SendAsync<FetchResponse>(request, 16);
        var partitions = response.Responses[0].Partitions;
        Assert.Equal(batch0.Length, partitions[0].Records!.Value.Length);
        Assert.Equal(0, partitions[1].Records!.Value.Length);
        Assert.Equal(10, partitions[1].HighWatermark);

        request.MaxBytes = batch0.Length + batch1.Length;
        response = await client.SendAsync<FetchResponse>(request, 16);
        Assert.Equal(batch1.Length, response.Responses[0].Partitions[1].Records!.Value.Length);
    }

    [Fact]
    public async Task OffsetBeyondTheLogEndIsOffsetOutOfRange()
    {
        await using var client = await _broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "fetch-out-of-range");
        await client.SendAsync<ProduceResponse>(Requests.Produce("fetch-out-of-range", 0, Requests.Batch(3)), 9);
        var partition = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("", topicId, 0, 10), 16));
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, partition.ErrorCode);

        // At the log end: no error, nothing to read.
        partition = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("", topicId, 0, 3), 16));
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        Assert.Equal(0, partition.Records!.Value.Length);
    }

    [Fact]
    public async Task UnknownTopicIdIsUnknownTopicId()
    {
        await using var client = await _broker.ConnectAsync();
        var partition = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("", Uuid.NewRandom(), 0, 0), 13));
        Assert.Equal((short)ErrorCode.UnknownTopicId, partition.ErrorCode);
    }

    [Fact]
    public async Task ByNameBeforeV13()
    {
        await using var client = await _broker.ConnectAsync();
        await CreateTopicAsync(client, "fetch-by-name");
        await client.SendAsync<ProduceResponse>(Requests.Produce("fetch-by-name", 0, Requests.Batch(1)), 9);
        var response = await client.SendAsync<FetchResponse>(Requests.Fetch("fetch-by-name", Uuid.Zero, 0, 0), 12);
        Assert.Equal("fetch-by-name", response.Responses[0].Topic);
        Assert.Equal(1, Single(response).HighWatermark);

        var unknown = Single(await client.SendAsync<FetchResponse>(Requests.Fetch("fetch-nope", Uuid.Zero, 0, 0), 4));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, unknown.ErrorCode);
    }

    [Fact]
    public async Task StaleAndFutureLeaderEpochsAreRefused()
    {
        await using var client = await _broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "fetch-epochs");
        var request = Requests.Fetch("", topicId, 0, 0);
        request.Topics[0].Partitions[0].CurrentLeaderEpoch = 5;
        Assert.Equal((short)ErrorCode.UnknownLeaderEpoch, Single(await client.SendAsync<FetchResponse>(request, 16)).ErrorCode);
        request.Topics[0].Partitions[0].CurrentLeaderEpoch = 0;
        Assert.Equal((short)ErrorCode.None, Single(await client.SendAsync<FetchResponse>(request, 16)).ErrorCode);
    }

    [Fact]
    public async Task SessionsAreDeclinedAndUnknownSessionsRefused()
    {
        await using var client = await _broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "fetch-sessions");
        var request = Requests.Fetch("", topicId, 0, 0);
        request.SessionEpoch = 0; // "please create a session"
        var response = await client.SendAsync<FetchResponse>(request, 16);
        Assert.Equal(0, response.SessionId);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);

        request.SessionId = 1234;
        request.SessionEpoch = 1;
        response = await client.SendAsync<FetchResponse>(request, 16);
        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, response.ErrorCode);
    }
}
