using Gregor.Metadata.Controller;
using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Protocol;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

/// <summary>The active controller on the quorum of one, with a manual clock: fully deterministic.</summary>
public sealed class QuorumControllerTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly LocalMetadataQuorum _quorum = new(nodeId: 1);
    private QuorumController _controller = null!;

    public async Task InitializeAsync()
    {
        await _quorum.StartAsync(CancellationToken.None);
        _controller = new QuorumController(
            _quorum,
            new QuorumControllerOptions { DefaultReplicationFactor = 3, DefaultNumPartitions = 6, BrokerSessionTimeout = TimeSpan.FromSeconds(9) },
            _time,
            new Random(42));
    }

    public async Task DisposeAsync()
    {
        await _controller.DisposeAsync();
        await _quorum.DisposeAsync();
    }

    private async Task<long> RegisterAndUnfence(int brokerId)
    {
        var registration = await _controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(brokerId, new Uuid(brokerId, 7), [new BrokerEndpoint("PLAINTEXT", "localhost", 9090 + brokerId, 0)]),
            CancellationToken.None);
        Assert.Equal(ErrorCode.None, registration.ErrorCode);
        Assert.True(_controller.Image.Brokers[brokerId].Fenced);
        var heartbeat = await _controller.BrokerHeartbeatAsync(brokerId, registration.BrokerEpoch, _controller.Image.Offset, false, false, CancellationToken.None);
        Assert.Equal(new BrokerHeartbeatResult(ErrorCode.None, true, false, false), heartbeat);
        Assert.False(_controller.Image.Brokers[brokerId].Fenced);
        return registration.BrokerEpoch;
    }

    [Fact]
    public async Task BrokersRegisterFencedAndAreUnfencedOnlyWhenCaughtUp()
    {
        var registration = await _controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(1, 1), [new BrokerEndpoint("PLAINTEXT", "localhost", 9092, 0)]), CancellationToken.None);
        Assert.Equal(ErrorCode.None, registration.ErrorCode);
        Assert.Equal(0, registration.BrokerEpoch);

        var behind = await _controller.BrokerHeartbeatAsync(1, registration.BrokerEpoch, currentMetadataOffset: -1, false, false, CancellationToken.None);
        Assert.Equal(new BrokerHeartbeatResult(ErrorCode.None, false, true, false), behind);
        Assert.True(_controller.Image.Brokers[1].Fenced);

        Assert.Equal(ErrorCode.StaleBrokerEpoch, (await _controller.BrokerHeartbeatAsync(1, 99, 0, false, false, CancellationToken.None)).ErrorCode);
        Assert.Equal(ErrorCode.BrokerIdNotRegistered, (await _controller.BrokerHeartbeatAsync(5, 0, 0, false, false, CancellationToken.None)).ErrorCode);

        var caughtUp = await _controller.BrokerHeartbeatAsync(1, registration.BrokerEpoch, currentMetadataOffset: 0, false, false, CancellationToken.None);
        Assert.Equal(new BrokerHeartbeatResult(ErrorCode.None, true, false, false), caughtUp);
        Assert.False(_controller.Image.Brokers[1].Fenced);
        Assert.Equal(9092, _controller.Image.Brokers[1].Endpoints[0].Port);

        // The same process retrying gets the same epoch; another process with the same id is refused while this one lives.
        Assert.Equal(registration, await _controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(1, 1), []), CancellationToken.None));
        Assert.Equal(ErrorCode.DuplicateBrokerRegistration, (await _controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(1, 2), []), CancellationToken.None)).ErrorCode);
    }

    [Fact]
    public async Task ReplicationFactorThreeOverSixPartitionsSpreadsLeadersAndReplicas()
    {
        for (var b = 1; b <= 3; b++)
        {
            await RegisterAndUnfence(b);
        }

        var result = Assert.Single(await _controller.CreateTopicsAsync([new CreatableTopic("orders")], CancellationToken.None));
        Assert.Equal(ErrorCode.None, result.ErrorCode);
        Assert.Equal(6, result.NumPartitions);
        Assert.Equal(3, result.ReplicationFactor);

        var topic = _controller.Image.TopicsByName["orders"];
        Assert.Equal(result.TopicId, topic.Id);
        Assert.Equal(6, topic.Partitions.Count);
        foreach (var partition in topic.Partitions.Values)
        {
            Assert.Equal([1, 2, 3], partition.Replicas.Order().ToArray());
            Assert.Equal(partition.Replicas.ToArray(), partition.Isr.ToArray());
            Assert.Equal(partition.Replicas[0], partition.Leader);
            Assert.Equal(0, partition.LeaderEpoch);
        }

        // Round robin: every broker leads exactly two of the six partitions.
        Assert.All(topic.Partitions.Values.GroupBy(p => p.Leader), g => Assert.Equal(2, g.Count()));
        Assert.Equal(3, topic.Partitions.Values.Select(p => p.Leader).Distinct().Count());
    }

    [Fact]
    public async Task CreateTopicsValidatesLikeKafka()
    {
        await RegisterAndUnfence(1);
        var results = await _controller.CreateTopicsAsync(
        [
            new CreatableTopic("too-many-replicas", 1, 2),
            new CreatableTopic("bad name!", 1, 1),
            new CreatableTopic("no-partitions", 0, 1),
            new CreatableTopic("manual", Assignments: [[1], [7]]),
            new CreatableTopic("both", 2, 1, Assignments: [[1]]),
            new CreatableTopic("good", 2, 1, Configs: new Dictionary<string, string> { ["cleanup.policy"] = "compact" }),
            new CreatableTopic("good", 2, 1),
        ], CancellationToken.None);

        Assert.Equal(
            [ErrorCode.InvalidReplicationFactor, ErrorCode.InvalidTopicException, ErrorCode.InvalidPartitions,
             ErrorCode.InvalidReplicaAssignment, ErrorCode.InvalidRequest, ErrorCode.None, ErrorCode.InvalidRequest],
            results.Select(r => r.ErrorCode));
        Assert.Equal(["good"], _controller.Image.TopicsByName.Keys);
        Assert.Equal("compact", _controller.Image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "good"))["cleanup.policy"]);

        var again = Assert.Single(await _controller.CreateTopicsAsync([new CreatableTopic("good")], CancellationToken.None));
        Assert.Equal(ErrorCode.TopicAlreadyExists, again.ErrorCode);

        var manual = Assert.Single(await _controller.CreateTopicsAsync([new CreatableTopic("manual", Assignments: [[1], [1]])], CancellationToken.None));
        Assert.Equal(ErrorCode.None, manual.ErrorCode);
        Assert.Equal(2, _controller.Image.TopicsByName["manual"].Partitions.Count);
    }

    [Fact]
    public async Task DeleteTopicsAndConfigChangesAreRecords()
    {
        await RegisterAndUnfence(1);
        await _controller.CreateTopicsAsync([new CreatableTopic("a", 1, 1), new CreatableTopic("b", 1, 1)], CancellationToken.None);
        Assert.Equal(ErrorCode.None, await _controller.AlterConfigsAsync(
            new ConfigResource(ConfigResourceType.Topic, "a"), new Dictionary<string, string?> { ["retention.ms"] = "1000" }, CancellationToken.None));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, await _controller.AlterConfigsAsync(
            new ConfigResource(ConfigResourceType.Topic, "zzz"), new Dictionary<string, string?> { ["retention.ms"] = "1" }, CancellationToken.None));

        var deleted = await _controller.DeleteTopicsAsync(["a", "missing"], CancellationToken.None);
        Assert.Equal([("a", ErrorCode.None), ("missing", ErrorCode.UnknownTopicOrPartition)], deleted);
        Assert.Equal(["b"], _controller.Image.TopicsByName.Keys);
        Assert.Empty(_controller.Image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "a")));
    }

    [Fact]
    public async Task ASilentBrokerIsFencedAfterTheSessionTimeoutAndLeadershipMovesWithinTheIsr()
    {
        var epochs = new Dictionary<int, long>();
        for (var b = 1; b <= 3; b++)
        {
            epochs[b] = await RegisterAndUnfence(b);
        }

        await _controller.CreateTopicsAsync([new CreatableTopic("t", Assignments: [[2, 3, 1], [3, 1, 2]])], CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(5));
        await _controller.BrokerHeartbeatAsync(1, epochs[1], _controller.Image.Offset, false, false, CancellationToken.None);
        await _controller.BrokerHeartbeatAsync(3, epochs[3], _controller.Image.Offset, false, false, CancellationToken.None);
        Assert.Empty(await _controller.FenceStaleBrokersAsync(CancellationToken.None));

        // Broker 2 has been silent for 9 s: fenced, out of the ISRs, no longer leading partition 0.
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal([2], await _controller.FenceStaleBrokersAsync(CancellationToken.None));
        var image = _controller.Image;
        Assert.True(image.Brokers[2].Fenced);
        var p0 = image.TopicsByName["t"].Partitions[0];
        Assert.Equal(3, p0.Leader);
        Assert.Equal([3, 1], p0.Isr.ToArray());
        Assert.Equal(1, p0.LeaderEpoch);
        Assert.Equal(1, p0.PartitionEpoch);
        var p1 = image.TopicsByName["t"].Partitions[1];
        Assert.Equal(3, p1.Leader);
        Assert.Equal(0, p1.LeaderEpoch);
        Assert.Equal([3, 1], p1.Isr.ToArray());

        // Kill 3 and 1 as well: the last ISR member keeps its place but the partition has no leader;
        // broker 2 is not in the ISR, so it never leads (no unclean election) even when unfenced.
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 3], await _controller.FenceStaleBrokersAsync(CancellationToken.None));
        p0 = _controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal(-1, p0.Leader);
        Assert.Equal([3], p0.Isr.ToArray());

        await _controller.BrokerHeartbeatAsync(2, epochs[2], _controller.Image.Offset, false, false, CancellationToken.None);
        Assert.False(_controller.Image.Brokers[2].Fenced);
        Assert.Equal(-1, _controller.Image.TopicsByName["t"].Partitions[0].Leader);

        // Broker 3, the last ISR member, comes back: it leads again in a new leader epoch.
        await _controller.BrokerHeartbeatAsync(3, epochs[3], _controller.Image.Offset, false, false, CancellationToken.None);
        p0 = _controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal(3, p0.Leader);
        Assert.Equal(3, p0.LeaderEpoch);
    }

    [Fact]
    public async Task ThePeriodicSessionCheckFencesOnlyTheSilentBroker()
    {
        var epochs = new Dictionary<int, long>();
        for (var b = 1; b <= 2; b++)
        {
            epochs[b] = await RegisterAndUnfence(b);
        }

        _controller.StartPeriodicTasks();
        _time.Advance(TimeSpan.FromSeconds(5));
        await _controller.BrokerHeartbeatAsync(1, epochs[1], _controller.Image.Offset, false, false, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.False(_controller.Image.Brokers[2].Fenced);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(_controller.Image.Brokers[2].Fenced);
        Assert.False(_controller.Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task ControlledShutdownMovesLeadershipAwayFirst()
    {
        var epochs = new Dictionary<int, long>();
        for (var b = 1; b <= 2; b++)
        {
            epochs[b] = await RegisterAndUnfence(b);
        }

        await _controller.CreateTopicsAsync([new CreatableTopic("t", Assignments: [[1, 2]])], CancellationToken.None);
        var result = await _controller.BrokerHeartbeatAsync(1, epochs[1], _controller.Image.Offset, false, wantShutDown: true, CancellationToken.None);

        Assert.True(result.ShouldShutDown);
        var p0 = _controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal(2, p0.Leader);
        Assert.Equal([2], p0.Isr.ToArray());
        Assert.True(_controller.Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task ProducerIdBlocksNeverOverlapAndSurviveReplay()
    {
        var epoch = await RegisterAndUnfence(1);
        var first = await _controller.AllocateProducerIdsAsync(1, epoch, CancellationToken.None);
        var second = await _controller.AllocateProducerIdsAsync(1, epoch, CancellationToken.None);
        Assert.Equal(new ProducerIdBlock(ErrorCode.None, 0, 1000), first);
        Assert.Equal(new ProducerIdBlock(ErrorCode.None, 1000, 1000), second);
        Assert.Equal(ErrorCode.StaleBrokerEpoch, (await _controller.AllocateProducerIdsAsync(1, epoch + 100, CancellationToken.None)).ErrorCode);

        // A second controller replaying the same log arrives at the same image.
        await using var replayer = new QuorumController(_quorum, new QuorumControllerOptions(), _time);
        var image = replayer.CatchUp();
        Assert.Equal(2000, image.NextProducerId);
        Assert.Equal(_controller.Image.Offset, image.Offset);
    }

    [Fact]
    public async Task WritesOnANodeThatIsNotTheLeaderAnswerNotController()
    {
        await using var idle = new LocalMetadataQuorum(nodeId: 2);
        await using var controller = new QuorumController(idle, new QuorumControllerOptions(), _time);
        Assert.False(controller.IsActive);
        var result = Assert.Single(await controller.CreateTopicsAsync([new CreatableTopic("x", 1, 1)], CancellationToken.None));
        Assert.Equal(ErrorCode.NotController, result.ErrorCode);
        Assert.Equal(ErrorCode.NotController, (await controller.RegisterBrokerAsync(new BrokerRegistrationRequestData(1, Uuid.Zero, []), CancellationToken.None)).ErrorCode);
    }
}

public sealed class ControllerSnapshotTests
{
    [Fact]
    public async Task SnapshotsBoundTheLogAndARestartedControllerStartsFromTheNewest()
    {
        using var dir = new TempDirectory();
        var logDir = Path.Combine(dir.Path, "log");
        var snapshotDir = Path.Combine(dir.Path, "snapshots");
        var options = new QuorumControllerOptions { SnapshotDirectory = snapshotDir, MaxBytesBetweenSnapshots = 200 };
        var time = new ManualTimeProvider();
        long offsetBefore;
        await using (var quorum = new LocalMetadataQuorum(1, logDir))
        {
            await quorum.StartAsync(CancellationToken.None);
            await using var controller = new QuorumController(quorum, options, time, new Random(1));
            var registration = await controller.RegisterBrokerAsync(new BrokerRegistrationRequestData(1, new Uuid(1, 1), []), CancellationToken.None);
            await controller.BrokerHeartbeatAsync(1, registration.BrokerEpoch, controller.Image.Offset, false, false, CancellationToken.None);
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(ErrorCode.None, Assert.Single(await controller.CreateTopicsAsync([new CreatableTopic($"topic-{i}", 1, 1)], CancellationToken.None)).ErrorCode);
            }

            offsetBefore = controller.Image.Offset;

            // Snapshots were taken and only the newest is kept; the log lost the entries they cover.
            var snapshot = Assert.Single(Directory.GetFiles(snapshotDir, "*.checkpoint"));
            var snapshotOffset = long.Parse(Path.GetFileName(snapshot)[..20], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(snapshotOffset > 0);
            Assert.DoesNotContain(quorum.ReadCommitted(0), e => e.Offset < snapshotOffset);
            Assert.True(quorum.ReadCommitted(0).Count < 22);
        }

        await using (var quorum = new LocalMetadataQuorum(1, logDir))
        {
            await quorum.StartAsync(CancellationToken.None);
            await using var controller = new QuorumController(quorum, options, time);
            var image = controller.CatchUp();
            Assert.Equal(offsetBefore, image.Offset);
            Assert.Equal(20, image.TopicsByName.Count);
            Assert.False(image.Brokers[1].Fenced);

            // New entries continue after the old offsets.
            Assert.Equal(ErrorCode.None, Assert.Single(await controller.CreateTopicsAsync([new CreatableTopic("later", 1, 1)], CancellationToken.None)).ErrorCode);
            Assert.Equal(offsetBefore + 1, controller.Image.Offset);
        }
    }
}
