using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Broker.Client;
using Gregor.Broker.Cluster;
using Gregor.Metadata.Quorum;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>Three combined nodes and one broker-only node (node 4) that observes the metadata log.</summary>
public sealed class ObserverTests
{
    private const int Observer = 4;

    [Fact]
    public async Task ABrokerOnlyNodeIsAFullBrokerAndKeepsFollowingAfterTheActiveControllerStops()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, brokerOnly: 1);
        await cluster.WaitForBrokersAsync();
        var controller = await cluster.WaitForActiveControllerAsync();
        var observer = cluster.Server(Observer);
        Assert.IsType<ObserverMetadataQuorum>(observer.Controller.Quorum);
        Assert.False(observer.Controller.IsActive);

        // Every broker, the observer included, lists all four and names the active controller.
        foreach (var server in cluster.RunningServers)
        {
            using var admin = Clients.Admin(server.BootstrapServers);
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(5));
            Assert.Equal([1, 2, 3, 4], metadata.Brokers.Select(b => b.BrokerId).Order());
            Assert.DoesNotContain(metadata.Topics, t => t.Topic == MetadataTopic.Name);
            var described = await admin.DescribeClusterAsync();
            Assert.Equal(controller, described.Controller.Id);
        }

        // Topic creation through the observer (forwarded to the active controller): replication
        // factor 4 puts a replica of every partition on it, and round robin gives it one leadership.
        using (var admin = Clients.Admin(observer.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "observed", NumPartitions = 4, ReplicationFactor = 4 }]);
        }

        // CreateTopics answers once the controller committed the topic; the observer replays it
        // from its next metadata fetch (as a Kafka broker's metadata lags its controller).
        Assert.True(await ClusterWaits.WaitUntilAsync(() => observer.Metadata.TryGetTopic("observed", out _)));
        Assert.True(observer.Metadata.TryGetTopic("observed", out var observed));
        Assert.All(observed.Partitions, p => Assert.Contains(Observer, p.Replicas));
        Assert.Equal(1, observed.Partitions.Count(p => p.LeaderId == Observer));
        var led = observed.Partitions.Single(p => p.LeaderId == Observer).PartitionIndex;

        // acks=all produce and a consume bootstrapped through the observer alone; the partition
        // it leads needs its three followers (the voters) in the ISR.
        var offsets = new List<long>();
        using (var producer = new ProducerBuilder<Null, string>(Clients.ProducerConfig(observer.BootstrapServers)).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                var delivery = await producer.ProduceAsync(new TopicPartition("observed", led), new Message<Null, string> { Value = $"v{i}" });
                Assert.Equal(PersistenceStatus.Persisted, delivery.Status);
                offsets.Add(delivery.Offset.Value);
            }
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), offsets);
        using (var consumer = new ConsumerBuilder<Null, string>(Clients.ConsumerConfig(observer.BootstrapServers)).Build())
        {
            consumer.Assign(new TopicPartitionOffset("observed", led, Offset.Beginning));
            var values = new List<string>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (values.Count < 10 && DateTime.UtcNow < deadline)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
                {
                    Assert.Equal(values.Count, result.Offset.Value);
                    values.Add(result.Message.Value);
                }
            }

            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"v{i}"), values);
        }

        // The active controller stops: the observer moves to another voter and follows the new
        // controller's log (a topic created through it appears in its image).
        await cluster.StopNodeAsync(controller);
        var next = await cluster.WaitForActiveControllerAsync(TimeSpan.FromSeconds(15));
        Assert.NotEqual(controller, next);
        Assert.True(await ClusterWaits.WaitUntilAsync(() => observer.Controller.ActiveControllerId == next));
        using (var admin = Clients.Admin(observer.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "after-failover", NumPartitions = 2, ReplicationFactor = 3 }]);
        }

        Assert.True(await ClusterWaits.WaitUntilAsync(() => observer.Metadata.TryGetTopic("after-failover", out _)));
        Assert.True(observer.Metadata.TryGetTopic("after-failover", out var created));
        Assert.All(created.Partitions, p => Assert.DoesNotContain(controller, p.Replicas));
        Assert.Equal(next, observer.Metadata.ControllerId);
        Assert.False(observer.BrokerLifecycle.IsFenced);
    }

    [Fact]
    public async Task TheMetadataLogIsServedToReplicasAsBatchesAtEntryOffsetsAndHiddenFromClients()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, brokerOnly: 1);
        await cluster.WaitForBrokersAsync();
        var controller = await cluster.WaitForActiveControllerAsync();
        var voter = cluster.Server(cluster.NodeIds.First(id => id != controller && id != Observer));
        await using var connection = await NodeConnection.ConnectAsync("127.0.0.1", voter.BoundEndpoints[0].Port, "test", TimeSpan.FromSeconds(5), CancellationToken.None);

        // A replica's fetch (replica id 99) from offset 0: one batch per committed entry, base
        // offsets those of the voter's committed log, the leader named in CurrentLeader.
        var response = await connection.SendAsync<FetchResponse>(MetadataFetch(replicaId: 99, fetchOffset: 0), 17, TimeSpan.FromSeconds(10), CancellationToken.None);
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal(controller, partition.CurrentLeader.LeaderId);
        Assert.Equal(-1, partition.SnapshotId.EndOffset);
        var records = partition.Records!.Value;
        var baseOffsets = new List<long>();
        var position = 0;
        while (RecordBatchReader.TryReadNext(records.Span, ref position, out var start, out var size))
        {
            var batch = records.Span.Slice(start, size);
            Assert.Equal(0, RecordBatch.LastOffsetDelta(batch));
            baseOffsets.Add(RecordBatch.BaseOffset(batch));
        }

        var committed = voter.Controller.Quorum.ReadCommitted(0, 1000).Select(e => e.Offset).ToList();
        Assert.NotEmpty(committed);
        Assert.Equal(committed, baseOffsets);

        // The observer's image is at the voters' last entry.
        Assert.True(await ClusterWaits.WaitUntilAsync(() => cluster.Server(Observer).Controller.Image.Offset == voter.Controller.Image.Offset));

        // A client (replica id -1) does not see the metadata topic.
        var client = await connection.SendAsync<FetchResponse>(MetadataFetch(replicaId: -1, fetchOffset: 0), 17, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal((short)Gregor.Protocol.ErrorCode.UnknownTopicId, Assert.Single(Assert.Single(client.Responses).Partitions).ErrorCode);
    }

    [Fact]
    public async Task AnObserverBehindTheLogStartLoadsASnapshotAndContinues()
    {
        // Snapshots after every entry: the voters delete their log behind each one.
        await using var cluster = await InProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["metadata.log.max.record.bytes.between.snapshots"] = "1",
        }, brokerOnly: 1);
        await cluster.WaitForBrokersAsync();
        await cluster.StopNodeAsync(Observer);
        using (var admin = Clients.Admin(cluster.Server(1).BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "while-away", NumPartitions = 1, ReplicationFactor = 3 }]);
        }

        var voter = cluster.Server(1);
        Assert.True(await ClusterWaits.WaitUntilAsync(() => voter.Metadata.TryGetTopic("while-away", out _)));
        Assert.True(voter.Controller.Quorum.LogStartOffset > 0);

        // A fetch from offset 0 is told which snapshot to load; FetchSnapshot serves it.
        await using (var connection = await NodeConnection.ConnectAsync("127.0.0.1", voter.BoundEndpoints[0].Port, "test", TimeSpan.FromSeconds(5), CancellationToken.None))
        {
            var response = await connection.SendAsync<FetchResponse>(MetadataFetch(replicaId: 99, fetchOffset: 0), 17, TimeSpan.FromSeconds(10), CancellationToken.None);
            var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
            Assert.True(partition.SnapshotId.EndOffset >= voter.Controller.Quorum.LogStartOffset);
            Assert.Equal(0, partition.Records!.Value.Length);
        }

        // The observer restarts from offset 0 (its log is not kept), loads the snapshot, catches
        // up, unfences, and follows later entries too.
        await cluster.StartNodeAsync(Observer);
        await cluster.WaitForBrokersAsync();
        var observer = cluster.Server(Observer);
        Assert.NotNull(observer.Controller.Quorum.InstalledSnapshot);
        Assert.True(observer.Metadata.TryGetTopic("while-away", out _));
        using (var admin = Clients.Admin(observer.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "after-return", NumPartitions = 1, ReplicationFactor = 4 }]);
        }

        Assert.True(await ClusterWaits.WaitUntilAsync(() => observer.Metadata.TryGetTopic("after-return", out _)));
    }

    private static FetchRequest MetadataFetch(int replicaId, long fetchOffset) => new()
    {
        ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = replicaId, ReplicaEpoch = -1 },
        MaxWaitMs = 0,
        MaxBytes = 1 << 20,
        Topics =
        [
            new FetchRequest.FetchTopic
            {
                TopicId = MetadataTopic.Id,
                Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = fetchOffset, PartitionMaxBytes = 1 << 20 }],
            },
        ],
    };
}
