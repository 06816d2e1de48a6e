using Confluent.Kafka;
using Gregor.Broker.Client;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;
using ErrorCode = Gregor.Protocol.ErrorCode;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>OffsetForLeaderEpoch 0–4 on a lone broker, as consumers use it to validate positions (KIP-320).</summary>
public sealed class OffsetForLeaderEpochHandlerTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task TheLatestEpochEndsAtTheLogEndAndErrorsAreKafkas(short version)
    {
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, "epochs", 1);
        using (var producer = new ProducerBuilder<Null, string>(Clients.ProducerConfig(broker.BootstrapServers)).Build())
        {
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync("epochs", new Message<Null, string> { Value = $"v{i}" });
            }
        }

        await using var connection = await NodeConnection.ConnectAsync("127.0.0.1", broker.Server.BoundEndpoints[0].Port, "test", TimeSpan.FromSeconds(5), CancellationToken.None);

        async Task<OffsetForLeaderEpochResponse.EpochEndOffset> AskAsync(string topic, int currentLeaderEpoch, int leaderEpoch)
        {
            var request = new OffsetForLeaderEpochRequest
            {
                ReplicaId = version >= 3 ? -1 : -2,
                Topics =
                [
                    new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                    {
                        Topic = topic,
                        Partitions = [new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = version >= 2 ? currentLeaderEpoch : -1, LeaderEpoch = leaderEpoch }],
                    },
                ],
            };
            var response = await connection.SendAsync<OffsetForLeaderEpochResponse>(request, version, TimeSpan.FromSeconds(5), CancellationToken.None);
            var topicResult = Assert.Single(response.Topics);
            Assert.Equal(topic, topicResult.Topic);
            return Assert.Single(topicResult.Partitions);
        }

        var latest = await AskAsync("epochs", 0, 0);
        Assert.Equal((ErrorCode.None, 5L), ((ErrorCode)latest.ErrorCode, latest.EndOffset));
        Assert.Equal(version >= 1 ? 0 : -1, latest.LeaderEpoch);

        var newer = await AskAsync("epochs", -1, 3);
        Assert.Equal((ErrorCode.None, -1L), ((ErrorCode)newer.ErrorCode, newer.EndOffset));

        var unknown = await AskAsync("no-such-topic", -1, 0);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (ErrorCode)unknown.ErrorCode);

        if (version >= 2)
        {
            Assert.Equal(ErrorCode.UnknownLeaderEpoch, (ErrorCode)(await AskAsync("epochs", 1, 0)).ErrorCode);
        }
    }
}
