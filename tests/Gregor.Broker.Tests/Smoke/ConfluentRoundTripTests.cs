using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Host;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Smoke;

/// <summary>The real .NET client (librdkafka 2.16) against an in-process broker: produce, then consume back.</summary>
public sealed class ConfluentRoundTripTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("gregor-smoke");
    private BrokerServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = new BrokerServer(new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = _directory.Path,
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Theory]
    [InlineData("none")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task ProducedRecordsAreConsumedInOrder(string compression)
    {
        const int count = 300;
        var topic = $"smoke-{compression}";
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = _server.BootstrapServers,
            Acks = Acks.All,
            CompressionType = Enum.Parse<CompressionType>(compression, ignoreCase: true),
            LingerMs = 5,
            MessageTimeoutMs = 20_000,
        };

        var offsets = new List<long>();
        using (var producer = new ProducerBuilder<string, string>(producerConfig).Build())
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = $"k{i}", Value = $"value-{i}" }, report =>
                {
                    Assert.Equal(ErrorCode.NoError, report.Error.Code);
                    lock (offsets)
                    {
                        offsets.Add(report.Offset.Value);
                    }
                });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        offsets.Sort();
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), offsets);

        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = _server.BootstrapServers,
            GroupId = "unused-no-commits",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<string, string>(consumerConfig).Build();
        // No group coordinator yet: assign the partition directly.
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var received = new List<ConsumeResult<string, string>>();
        while (received.Count < count && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result is not null && !result.IsPartitionEOF)
            {
                received.Add(result);
            }
        }

        Assert.Equal(count, received.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, received[i].Offset.Value);
            Assert.Equal($"k{i}", received[i].Message.Key);
            Assert.Equal($"value-{i}", received[i].Message.Value);
        }

        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(0, watermarks.Low.Value);
        Assert.Equal(count, watermarks.High.Value);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task AdminClientCreatesDescribesAndDeletesTopics()
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _server.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "smoke-admin", NumPartitions = 3, ReplicationFactor = 1 }]);

        var metadata = admin.GetMetadata("smoke-admin", TimeSpan.FromSeconds(10));
        Assert.Equal(3, Assert.Single(metadata.Topics).Partitions.Count);

        var duplicate = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = "smoke-admin", NumPartitions = 1, ReplicationFactor = 1 }]));
        Assert.Equal(ErrorCode.TopicAlreadyExists, duplicate.Results[0].Error.Code);

        var configs = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = "smoke-admin" }]);
        Assert.Equal("604800000", configs[0].Entries["retention.ms"].Value);

        var cluster = await admin.DescribeClusterAsync();
        Assert.Single(cluster.Nodes);

        await admin.DeleteTopicsAsync(["smoke-admin"]);
        // Asking for the topic by name would auto-create it again (librdkafka allows it for
        // producer-type handles, as Kafka does), so list all topics instead.
        var after = admin.GetMetadata(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(after.Topics, t => t.Topic == "smoke-admin");
    }
}
