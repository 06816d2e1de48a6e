using Gregor.Broker.Metadata;
using Gregor.Metadata.Quorum;
using Gregor.Host;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>Topics, their ids and their data survive a broker restart on the same data directory.</summary>
public sealed class RestartTests
{
    private static BrokerServer NewServer(string directory) => new(new Dictionary<string, string>
    {
        ["listeners"] = "PLAINTEXT://127.0.0.1:0",
        ["log.dirs"] = directory,
    });

    private static async Task<(Uuid TopicId, long Offset)> CreateAndProduceAsync(BrokerServer server, string topic, int partitions)
    {
        await using var client = await WireClient.ConnectAsync(server.BoundEndpoints[0]);
        var created = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(topic, partitions, 1, false, ("retention.ms", "123456789")), 7);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);
        var produced = await client.SendAsync<ProduceResponse>(Requests.Produce(topic, partitions - 1, Requests.Batch(7)), 9);
        Assert.Equal((short)ErrorCode.None, produced.Responses[0].PartitionResponses[0].ErrorCode);
        return (created.Topics[0].TopicId, produced.Responses[0].PartitionResponses[0].BaseOffset);
    }

    private static async Task AssertRecoveredAsync(BrokerServer server, string topic, int partitions, Uuid topicId, bool configsKept)
    {
        await using var client = await WireClient.ConnectAsync(server.BoundEndpoints[0]);
        var metadata = await client.SendAsync<MetadataResponse>(Requests.Metadata(false, topic), 12);
        var described = Assert.Single(metadata.Topics);
        Assert.Equal((short)ErrorCode.None, described.ErrorCode);
        Assert.Equal(topicId, described.TopicId);
        Assert.Equal(partitions, described.Partitions.Count);

        var fetch = await client.SendAsync<FetchResponse>(Requests.Fetch("", topicId, partitions - 1, 0), 16);
        var partition = fetch.Responses[0].Partitions[0];
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        Assert.Equal(7, partition.HighWatermark);
        Assert.Equal(0, Gregor.Protocol.Records.RecordBatch.BaseOffset(partition.Records!.Value.Span));

        var configs = await client.SendAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new() { ResourceType = 2, ResourceName = topic, ConfigurationKeys = ["retention.ms"] }],
        }, 4);
        Assert.Equal(configsKept ? "123456789" : "604800000", Assert.Single(configs.Results[0].Configs).Value);
    }

    [Fact]
    public async Task TopicsAndDataAreRecoveredAfterARestart()
    {
        using var directory = new TempDirectory("gregor-restart");
        Uuid topicId;
        await using (var first = NewServer(directory.Path))
        {
            await first.StartAsync();
            (topicId, _) = await CreateAndProduceAsync(first, "restart-topic", 3);
        }

        // The topics live in the metadata log (KRaft's __cluster_metadata), which LogManager does not load as a partition.
        Assert.True(Directory.Exists(Path.Combine(directory.Path, MetadataQuorumFactory.MetadataLogDirectoryName)));
        Assert.False(File.Exists(Path.Combine(directory.Path, TopicMetadataStore.FileName)));
        await using var second = NewServer(directory.Path);
        await second.StartAsync();
        await AssertRecoveredAsync(second, "restart-topic", 3, topicId, configsKept: true);

        // Appends continue after the recovered log end.
        await using var client = await WireClient.ConnectAsync(second.BoundEndpoints[0]);
        var produced = await client.SendAsync<ProduceResponse>(Requests.Produce("restart-topic", 2, Requests.Batch(1)), 9);
        Assert.Equal(7, produced.Responses[0].PartitionResponses[0].BaseOffset);
    }

    [Fact]
    public async Task LogsWithoutMetadataAreAdoptedWithTheirTopicIds()
    {
        using var directory = new TempDirectory("gregor-adopt");
        Uuid topicId;
        await using (var first = NewServer(directory.Path))
        {
            await first.StartAsync();
            (topicId, _) = await CreateAndProduceAsync(first, "orphan-topic", 2);
        }

        Directory.Delete(Path.Combine(directory.Path, MetadataQuorumFactory.MetadataLogDirectoryName), recursive: true);
        await using var second = NewServer(directory.Path);
        await second.StartAsync();
        // The topic id comes back from partition.metadata; topic-level configs were only in the lost file.
        await AssertRecoveredAsync(second, "orphan-topic", 2, topicId, configsKept: false);
    }

    [Fact]
    public async Task AFailedStartShutsDownCleanlyAndTheDirectoryCanBeReused()
    {
        using var directory = new TempDirectory("gregor-failed-start");
        using var blocker = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((System.Net.IPEndPoint)blocker.LocalEndpoint).Port;
        await using (var clash = new BrokerServer(new Dictionary<string, string>
        {
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{port}",
            ["log.dirs"] = directory.Path,
        }))
        {
            await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => clash.StartAsync());
        }

        await using var server = NewServer(directory.Path);
        await server.StartAsync();
        var (topicId, _) = await CreateAndProduceAsync(server, "after-failed-start", 1);
        Assert.False(topicId.IsZero);
    }
}
