using Gregor.Metadata.Controller;
using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Protocol;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

/// <summary>AlterPartition, leader elections and imports on the quorum of one with a manual clock.</summary>
public sealed class QuorumControllerPartitionTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly LocalMetadataQuorum _quorum = new(nodeId: 1);
    private QuorumController _controller = null!;
    private readonly Dictionary<int, long> _epochs = new();

    public async Task InitializeAsync()
    {
        await _quorum.StartAsync(CancellationToken.None);
        _controller = new QuorumController(
            _quorum,
            new QuorumControllerOptions { DefaultReplicationFactor = 3, DefaultNumPartitions = 1, BrokerSessionTimeout = TimeSpan.FromSeconds(9) },
            _time,
            new Random(42));
        foreach (var id in new[] { 1, 2, 3 })
        {
            var registration = await _controller.RegisterBrokerAsync(
                new BrokerRegistrationRequestData(id, new Uuid(id, 7), [new BrokerEndpoint("PLAINTEXT", "localhost", 9090 + id, 0)]), CancellationToken.None);
            await _controller.BrokerHeartbeatAsync(id, registration.BrokerEpoch, _controller.Image.Offset, false, false, CancellationToken.None);
            _epochs[id] = registration.BrokerEpoch;
        }
    }

    public async Task DisposeAsync()
    {
        await _controller.DisposeAsync();
        await _quorum.DisposeAsync();
    }

    private static (string Replicas, string Isr, int Leader, int LeaderEpoch, int PartitionEpoch) Describe(PartitionRegistration p) =>
        (string.Join(",", p.Replicas), string.Join(",", p.Isr), p.Leader, p.LeaderEpoch, p.PartitionEpoch);

    private async Task<(Uuid Id, PartitionRegistration Partition)> CreateAsync(string name, params int[] replicas)
    {
        var result = (await _controller.CreateTopicsAsync([new CreatableTopic(name, Assignments: [replicas])], CancellationToken.None))[0];
        Assert.Equal(ErrorCode.None, result.ErrorCode);
        return (result.TopicId, _controller.Image.TopicsByName[name].Partitions[0]);
    }

    [Fact]
    public async Task AlterPartitionShrinksAndExpandsTheIsrBumpingOnlyThePartitionEpoch()
    {
        var (id, p) = await CreateAsync("t", 2, 3, 1);
        Assert.Equal((2, 0, 0), (p.Leader, p.LeaderEpoch, p.PartitionEpoch));

        var shrink = await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, 0, 0, [2, 3], CancellationToken.None);
        Assert.Equal(ErrorCode.None, shrink.ErrorCode);
        Assert.Equal([2, 3], shrink.Partition!.Isr.ToArray());
        Assert.Equal((2, 0, 1), (shrink.Partition.Leader, shrink.Partition.LeaderEpoch, shrink.Partition.PartitionEpoch));
        Assert.Equal(Describe(shrink.Partition), Describe(_controller.Image.TopicsByName["t"].Partitions[0]));

        // A stale partition epoch, a stale leader epoch, a sender that is not the leader.
        Assert.Equal(ErrorCode.InvalidUpdateVersion, (await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, 0, 0, [2, 3, 1], CancellationToken.None)).ErrorCode);
        Assert.Equal(ErrorCode.FencedLeaderEpoch, (await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, 1, 1, [2, 3, 1], CancellationToken.None)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, (await _controller.AlterPartitionAsync(3, _epochs[3], id, 0, 0, 1, [2, 3, 1], CancellationToken.None)).ErrorCode);
        Assert.Equal(ErrorCode.StaleBrokerEpoch, (await _controller.AlterPartitionAsync(2, _epochs[2] + 1, id, 0, 0, 1, [2, 3, 1], CancellationToken.None)).ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicId, (await _controller.AlterPartitionAsync(2, _epochs[2], Uuid.NewRandom(), 0, 0, 1, [2], CancellationToken.None)).ErrorCode);

        // The ISR must stay within the replicas and keep the leader.
        Assert.Equal(ErrorCode.InvalidRequest, (await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, 0, 1, [2, 4], CancellationToken.None)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, (await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, 0, 1, [3], CancellationToken.None)).ErrorCode);

        var expand = await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, 0, 1, [2, 3, 1], CancellationToken.None);
        Assert.Equal(ErrorCode.None, expand.ErrorCode);
        Assert.Equal((0, 2), (expand.Partition!.LeaderEpoch, expand.Partition.PartitionEpoch));
    }

    [Fact]
    public async Task AFencedBrokerCannotJoinTheIsr()
    {
        var (id, _) = await CreateAsync("t", 1, 2, 3);
        await _controller.AlterPartitionAsync(1, _epochs[1], id, 0, 0, 0, [1, 2], CancellationToken.None);

        // Broker 3 asks to be fenced: it may not come back into the ISR.
        await _controller.BrokerHeartbeatAsync(3, _epochs[3], _controller.Image.Offset, wantFence: true, wantShutDown: false, CancellationToken.None);
        Assert.True(_controller.Image.Brokers[3].Fenced);
        var result = await _controller.AlterPartitionAsync(1, _epochs[1], id, 0, 0, 1, [1, 2, 3], CancellationToken.None);
        Assert.Equal(ErrorCode.IneligibleReplica, result.ErrorCode);
    }

    [Fact]
    public async Task PreferredElectionMovesLeadershipBackToTheFirstReplica()
    {
        var (id, _) = await CreateAsync("t", 1, 2, 3);
        Assert.Equal(ErrorCode.ElectionNotNeeded, (await _controller.ElectLeadersAsync(ElectionType.Preferred, [("t", 0)], CancellationToken.None))[0].ErrorCode);

        // Controlled shutdown of broker 1 moves leadership to 2 (leader epoch 1).
        var shutdown = await _controller.BrokerHeartbeatAsync(1, _epochs[1], _controller.Image.Offset, false, wantShutDown: true, CancellationToken.None);
        Assert.True(shutdown.ShouldShutDown);
        var moved = _controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal((2, 1), (moved.Leader, moved.LeaderEpoch));
        Assert.DoesNotContain(1, moved.Isr);
        Assert.Equal(ErrorCode.PreferredLeaderNotAvailable, (await _controller.ElectLeadersAsync(ElectionType.Preferred, [("t", 0)], CancellationToken.None))[0].ErrorCode);

        // Broker 1 comes back (new incarnation), is unfenced and rejoins the ISR: the preferred
        // election hands it the leadership again; the whole-cluster form reports only that change.
        var again = await _controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(1, 8), [new BrokerEndpoint("PLAINTEXT", "localhost", 9091, 0)]), CancellationToken.None);
        await _controller.BrokerHeartbeatAsync(1, again.BrokerEpoch, _controller.Image.Offset, false, false, CancellationToken.None);
        var partition = _controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal(ErrorCode.None, (await _controller.AlterPartitionAsync(2, _epochs[2], id, 0, partition.LeaderEpoch, partition.PartitionEpoch, [2, 3, 1], CancellationToken.None)).ErrorCode);

        var results = await _controller.ElectLeadersAsync(ElectionType.Preferred, null, CancellationToken.None);
        Assert.Equal([new ElectionResult("t", 0, ErrorCode.None, null)], results);
        var back = _controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal((1, 2), (back.Leader, back.LeaderEpoch));
        Assert.Empty(await _controller.ElectLeadersAsync(ElectionType.Preferred, null, CancellationToken.None));
    }

    [Fact]
    public async Task AutomaticBalancingHandsLeadershipBackToThePreferredReplica()
    {
        await using var controller = new QuorumController(
            _quorum,
            new QuorumControllerOptions { LeaderImbalanceCheckInterval = TimeSpan.FromSeconds(300), BrokerSessionTimeout = TimeSpan.FromHours(1) },
            _time);
        controller.CatchUp();
        var (id, _) = await CreateAsync("t", 1, 2, 3);
        await controller.BrokerHeartbeatAsync(1, _epochs[1], controller.Image.Offset, false, wantShutDown: true, CancellationToken.None);
        var again = await controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(1, 8), [new BrokerEndpoint("PLAINTEXT", "localhost", 9091, 0)]), CancellationToken.None);
        await controller.BrokerHeartbeatAsync(1, again.BrokerEpoch, controller.Image.Offset, false, false, CancellationToken.None);
        var moved = controller.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal(2, moved.Leader);
        Assert.Equal(ErrorCode.None, (await controller.AlterPartitionAsync(2, _epochs[2], id, 0, moved.LeaderEpoch, moved.PartitionEpoch, [2, 3, 1], CancellationToken.None)).ErrorCode);

        controller.StartLeaderBalancing();
        _time.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(2, controller.Image.TopicsByName["t"].Partitions[0].Leader);
        _time.Advance(TimeSpan.FromSeconds(1));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (controller.Image.TopicsByName["t"].Partitions[0].Leader != 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal((1, 2), (controller.Image.TopicsByName["t"].Partitions[0].Leader, controller.Image.TopicsByName["t"].Partitions[0].LeaderEpoch));
    }

    [Fact]
    public async Task UncleanElectionNeedsTheTopicsPermission()
    {
        await CreateAsync("t", 1, 2);
        await _controller.CreateTopicsAsync([new CreatableTopic("u", Assignments: [[1, 2]], Configs: new Dictionary<string, string> { ["unclean.leader.election.enable"] = "true" })], CancellationToken.None);
        foreach (var topic in new[] { "t", "u" })
        {
            // The ISR shrinks to the leader, which then goes away: the partition has no leader.
            var p = _controller.Image.TopicsByName[topic].Partitions[0];
            Assert.Equal(ErrorCode.None, (await _controller.AlterPartitionAsync(1, _epochs[1], _controller.Image.TopicsByName[topic].Id, 0, p.LeaderEpoch, p.PartitionEpoch, [1], CancellationToken.None)).ErrorCode);
        }

        Assert.Equal(ErrorCode.ElectionNotNeeded, (await _controller.ElectLeadersAsync(ElectionType.Unclean, [("t", 0)], CancellationToken.None))[0].ErrorCode);
        await _controller.BrokerHeartbeatAsync(1, _epochs[1], _controller.Image.Offset, wantFence: true, wantShutDown: false, CancellationToken.None);
        Assert.Equal(-1, _controller.Image.TopicsByName["t"].Partitions[0].Leader);

        var results = await _controller.ElectLeadersAsync(ElectionType.Unclean, [("t", 0), ("u", 0)], CancellationToken.None);
        Assert.Equal(ErrorCode.EligibleLeadersNotAvailable, results[0].ErrorCode);
        Assert.Equal(ErrorCode.None, results[1].ErrorCode);
        Assert.Equal(-1, _controller.Image.TopicsByName["t"].Partitions[0].Leader);
        var u = _controller.Image.TopicsByName["u"].Partitions[0];
        Assert.Equal((2, "2"), (u.Leader, string.Join(",", u.Isr)));
    }

    [Fact]
    public async Task ImportKeepsIdsEpochsAndConfigsAndSkipsExistingTopics()
    {
        var id = Uuid.NewRandom();
        var imported = await _controller.ImportTopicsAsync(
        [
            new ImportedTopic("old", id, [new ImportedPartition(0, [1], [1], 1, 4, 7), new ImportedPartition(1, [1], [1], 1, 2, 2)],
                new Dictionary<string, string> { ["retention.ms"] = "1000" }),
        ], CancellationToken.None);
        Assert.Equal(1, imported);
        var topic = _controller.Image.TopicsByName["old"];
        Assert.Equal(id, topic.Id);
        Assert.Equal((1, 4, 7), (topic.Partitions[0].Leader, topic.Partitions[0].LeaderEpoch, topic.Partitions[0].PartitionEpoch));
        Assert.Equal("1000", _controller.Image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "old"))["retention.ms"]);
        Assert.Equal(0, await _controller.ImportTopicsAsync([new ImportedTopic("old", Uuid.NewRandom(), [new ImportedPartition(0, [1], [1], 1, 0, 0)], new Dictionary<string, string>())], CancellationToken.None));
    }

    [Fact]
    public async Task TheControllersOwnBrokerRestartingKeepsItsSoleLeadershipsWithoutEpochBumps()
    {
        // Broker 1 is this controller's own node (combined mode); it leads a partition alone.
        var (_, before) = await CreateAsync("solo", 1);

        // A new controller (the restarted process) on the same log, and the new incarnation registers.
        await using var restarted = new QuorumController(_quorum, new QuorumControllerOptions(), _time);
        restarted.CatchUp();
        var registration = await restarted.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(1, 9), [new BrokerEndpoint("PLAINTEXT", "localhost", 9091, 0)]), CancellationToken.None);
        Assert.Equal(ErrorCode.None, registration.ErrorCode);
        await restarted.BrokerHeartbeatAsync(1, registration.BrokerEpoch, restarted.Image.Offset, false, false, CancellationToken.None);
        Assert.False(restarted.Image.Brokers[1].Fenced);
        Assert.Equal(Describe(before), Describe(restarted.Image.TopicsByName["solo"].Partitions[0]));

        // Another broker's new incarnation still has to wait for its old session.
        var duplicate = await restarted.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(2, new Uuid(2, 9), [new BrokerEndpoint("PLAINTEXT", "localhost", 9092, 0)]), CancellationToken.None);
        Assert.Equal(ErrorCode.DuplicateBrokerRegistration, duplicate.ErrorCode);
    }
}
