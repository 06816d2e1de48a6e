using Confluent.Kafka.Admin;
using Gregor.Broker.Client;
using Gregor.Broker.Tests.Handlers;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>
/// A broker that knows a partition but holds no replica of it answers NOT_LEADER_OR_FOLLOWER, so a
/// client with stale metadata refreshes it and goes to the leader; UNKNOWN_TOPIC_OR_PARTITION stays
/// for partitions the cluster does not have.
/// </summary>
public sealed class NotLeaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task EveryPartitionApiAnswersNotLeaderOrFollowerAtABrokerWithoutTheReplica()
    {
        const string topic = "not-leader";
        await using var cluster = await InProcessCluster.StartAsync(3);
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        }

        // A broker other than the only replica, once it has the topic in its metadata.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (cluster.RunningServers.All(s => s.Metadata.TryGetTopic(topic, out var t) && t.Partitions[0].LeaderId >= 0))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the topic never reached every broker's metadata");
            await Task.Delay(50);
        }

        var other = cluster.RunningServers.First(s => s.Metadata.TryGetTopic(topic, out var m) && !m.Partitions[0].Replicas.Contains(ServerNodeId(cluster, s)));
        Assert.True(other.Metadata.TryGetTopic(topic, out var metadata));
        var first = other.BootstrapServers.Split(',')[0];
        var (host, port) = (first[..first.LastIndexOf(':')], int.Parse(first[(first.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        await using var pool = new NodeClientPool("not-leader-test");

        async Task<T> Send<T>(IRequestMessage request, short version) where T : class, IResponseMessage =>
            await pool.SendAsync<T>(host, port, "t", request, version, Timeout, CancellationToken.None);

        var produce = await Send<ProduceResponse>(Requests.Produce(topic, 0, Requests.Batch(1), acks: 1), 9);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, produce.Responses[0].PartitionResponses[0].ErrorCode);

        var fetch = await Send<FetchResponse>(Requests.Fetch(topic, metadata.TopicId, 0, 0), 12);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, fetch.Responses[0].Partitions[0].ErrorCode);

        var listed = await Send<ListOffsetsResponse>(Requests.ListOffsets(topic, 0, -1), 7);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, listed.Topics[0].Partitions[0].ErrorCode);

        var deleted = await Send<DeleteRecordsResponse>(new DeleteRecordsRequest
        {
            TimeoutMs = 5_000,
            Topics = [new DeleteRecordsRequest.DeleteRecordsTopic { Name = topic, Partitions = [new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = 0 }] }],
        }, 2);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, deleted.Topics[0].Partitions[0].ErrorCode);

        var epochs = await Send<OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
        {
            ReplicaId = -1,
            Topics = [new OffsetForLeaderEpochRequest.OffsetForLeaderTopic { Topic = topic, Partitions = [new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = -1, LeaderEpoch = 0 }] }],
        }, 4);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, epochs.Topics[0].Partitions[0].ErrorCode);

        // A partition the cluster does not have is still unknown, at the same broker.
        var unknown = await Send<ProduceResponse>(Requests.Produce(topic, 5, Requests.Batch(1), acks: 1), 9);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, unknown.Responses[0].PartitionResponses[0].ErrorCode);
    }

    private static int ServerNodeId(InProcessCluster cluster, Gregor.Host.BrokerServer server) =>
        cluster.NodeIds.First(id => cluster.IsRunning(id) && ReferenceEquals(cluster.Server(id), server));
}
