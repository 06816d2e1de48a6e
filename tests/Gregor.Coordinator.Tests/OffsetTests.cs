using Gregor.Coordinator.Records;
using Gregor.Protocol;
using static Gregor.Coordinator.Tests.Harness;

namespace Gregor.Coordinator.Tests;

public sealed class OffsetTests
{
    private static OffsetCommitInput Commit(string group, int generation, string memberId, params (string Topic, int Partition, long Offset)[] offsets) =>
        new(group, generation, memberId, null, -1, [.. offsets.GroupBy(o => o.Topic).Select(t => new OffsetCommitTopic(t.Key, [.. t.Select(o => new OffsetCommitPartition(o.Partition, o.Offset, 7, $"meta-{o.Offset}"))]))]);

    private static OffsetFetchInput Fetch(string group, params (string Topic, int Partition)[] partitions) =>
        new(group, [.. partitions.GroupBy(p => p.Topic).Select(t => new OffsetFetchTopic(t.Key, [.. t.Select(p => p.Partition)]))]);

    [Fact]
    public void Member_commits_offsets_and_fetches_them_with_metadata()
    {
        using var h = new Harness();
        var (a, _) = ClassicGroupTests.TwoStableMembers(h);
        var commit = Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 2, a, ("topic-a", 0, 42), ("topic-a", 1, 7))));
        Assert.All(commit.Partitions, p => Assert.Equal(ErrorCode.None, p.Error));

        var fetched = h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 0), ("topic-a", 1), ("topic-a", 2)));
        Assert.Equal(ErrorCode.None, fetched.Error);
        Assert.Equal([42L, 7L, -1L], fetched.Offsets.Select(o => o.Offset));
        Assert.Equal("meta-42", fetched.Offsets[0].Metadata);
        Assert.Equal(7, fetched.Offsets[0].LeaderEpoch);
        Assert.Equal(-1, fetched.Offsets[2].LeaderEpoch);

        var all = h.Coordinator.FetchOffsets(new OffsetFetchInput("g", null));
        Assert.Equal(2, all.Offsets.Count);
        Assert.Equal(-1, h.Coordinator.FetchOffsets(Fetch("unknown-group", ("topic-a", 0))).Offsets[0].Offset);
    }

    [Fact]
    public void Commits_are_checked_against_generation_member_and_rebalance()
    {
        using var h = new Harness();
        var (a, b) = ClassicGroupTests.TwoStableMembers(h);
        Assert.Equal(ErrorCode.IllegalGeneration, Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 1, a, ("topic-a", 0, 1)))).Partitions[0].Error);
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 2, "ghost", ("topic-a", 0, 1)))).Partitions[0].Error);
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.CommitOffsetsAsync(Commit("g", -1, string.Empty, ("topic-a", 0, 1)))).Partitions[0].Error);
        // A generation on a missing group: GROUP_ID_NOT_FOUND from OffsetCommit v9, ILLEGAL_GENERATION before.
        Assert.Equal(ErrorCode.GroupIdNotFound, Done(h.Coordinator.CommitOffsetsAsync(Commit("no-group", 3, "x", ("topic-a", 0, 1)))).Partitions[0].Error);
        Assert.Equal(ErrorCode.IllegalGeneration, Done(h.Coordinator.CommitOffsetsAsync(Commit("no-group", 3, "x", ("topic-a", 0, 1)) with { ApiVersion = 8 })).Partitions[0].Error);

        // During CompletingRebalance a member may not commit: its partitions may be moving.
        var aJoin = h.Coordinator.JoinGroupAsync(Join("g", a));
        Done(h.Coordinator.JoinGroupAsync(Join("g", b)));
        Done(aJoin);
        Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 3, a, ("topic-a", 0, 1)))).Partitions[0].Error);

        var tooLarge = new OffsetCommitInput("simple", -1, string.Empty, null, -1, [new OffsetCommitTopic("topic-a", [new OffsetCommitPartition(0, 5, -1, new string('x', 4097))])]);
        Assert.Equal(ErrorCode.OffsetMetadataTooLarge, Done(h.Coordinator.CommitOffsetsAsync(tooLarge)).Partitions[0].Error);
    }

    [Fact]
    public void Consumer_group_commits_are_checked_against_the_member_epoch()
    {
        using var h = new Harness();
        var r = h.Heartbeat("g", "m1", 0);
        Assert.Equal(ErrorCode.None, Done(h.Coordinator.CommitOffsetsAsync(Commit("g", r.MemberEpoch, "m1", ("topic-a", 0, 10)))).Partitions[0].Error);
        Assert.Equal(ErrorCode.StaleMemberEpoch, Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 9, "m1", ("topic-a", 0, 11)))).Partitions[0].Error);
        Assert.Equal(ErrorCode.StaleMemberEpoch, h.Coordinator.FetchOffsets(new OffsetFetchInput("g", null, false, "m1", 9)).Error);
        Assert.Equal(10, h.Coordinator.FetchOffsets(new OffsetFetchInput("g", null, false, "m1", 1)).Offsets[0].Offset);
    }

    [Fact]
    public void Offsets_and_groups_survive_a_coordinator_restart()
    {
        var h = new Harness();
        var (a, _) = ClassicGroupTests.TwoStableMembers(h);
        Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 2, a, ("topic-a", 3, 1234))));
        Done(h.Coordinator.CommitOffsetsAsync(Commit("simple", -1, string.Empty, ("topic-b", 0, 99))));
        Done(h.Coordinator.CommitOffsetsAsync(Commit("simple", -1, string.Empty, ("topic-b", 0, 100))));

        h = h.Restart();
        Assert.Equal(1234, h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 3))).Offsets[0].Offset);
        Assert.Equal("meta-1234", h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 3))).Offsets[0].Metadata);
        Assert.Equal(100, h.Coordinator.FetchOffsets(Fetch("simple", ("topic-b", 0))).Offsets[0].Offset);
        var described = h.Coordinator.DescribeGroups(["g"])[0];
        Assert.Equal("Stable", described.GroupState);
        Assert.Equal(2, described.Members.Count);

        // The loaded members still belong to generation 2 and may heartbeat and commit.
        Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a, null))));
        h.Dispose();
    }

    [Fact]
    public void Offsets_of_an_empty_group_expire_after_the_retention_and_the_group_goes_with_them()
    {
        using var h = new Harness();
        var (a, b) = ClassicGroupTests.TwoStableMembers(h);
        Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 2, a, ("topic-a", 0, 5))));
        Done(h.Coordinator.LeaveGroupAsync(new LeaveGroupInput("g", [new LeaveGroupMember(a, null), new LeaveGroupMember(b, null)])));

        h.Time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(20));
        Assert.Equal(5, h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 0))).Offsets[0].Offset);
        h.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(-1, h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 0))).Offsets[0].Offset);
        Assert.DoesNotContain(h.Coordinator.ListGroups().Groups, g => g.GroupId == "g");

        // Both the offset and the group were tombstoned in __consumer_offsets.
        var records = h.Log.Records(h.Coordinator.PartitionFor("g")).Select(r => (GroupCoordinatorRecords.TryDecode(r, out var d), d)).ToList();
        Assert.Contains(records, r => r.d.Key is OffsetCommitKey { Group: "g" } && r.d.Value is null);
        Assert.Contains(records, r => r.d.Key is GroupMetadataKey { Group: "g" } && r.d.Value is null);
    }

    [Fact]
    public void Offsets_of_an_active_group_do_not_expire()
    {
        using var h = new Harness(new GroupCoordinatorConfig { GroupInitialRebalanceDelayMs = 0, OffsetsRetentionMinutes = 1, OffsetsRetentionCheckIntervalMs = 10_000 });
        var r = h.Heartbeat("g", "m1", 0);
        Done(h.Coordinator.CommitOffsetsAsync(Commit("g", r.MemberEpoch, "m1", ("topic-a", 0, 5))));
        for (var i = 0; i < 20; i++)
        {
            h.Time.AdvanceMs(5000);
            h.Heartbeat("g", "m1", r.MemberEpoch);
        }

        Assert.Equal(5, h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 0))).Offsets[0].Offset);
    }

    [Fact]
    public void Offset_delete_refuses_subscribed_topics_and_deletes_the_others()
    {
        using var h = new Harness();
        var (a, _) = ClassicGroupTests.TwoStableMembers(h);
        Done(h.Coordinator.CommitOffsetsAsync(Commit("g", 2, a, ("topic-a", 0, 5), ("topic-b", 0, 6))));
        var result = Done(h.Coordinator.DeleteOffsetsAsync(new OffsetDeleteInput("g", [new OffsetFetchTopic("topic-a", [0]), new OffsetFetchTopic("topic-b", [0])])));
        Assert.Equal(ErrorCode.None, result.Error);
        Assert.Equal(ErrorCode.GroupSubscribedToTopic, result.Partitions.Single(p => p.Topic == "topic-a").Error);
        Assert.Equal(ErrorCode.None, result.Partitions.Single(p => p.Topic == "topic-b").Error);
        Assert.Equal(-1, h.Coordinator.FetchOffsets(Fetch("g", ("topic-b", 0))).Offsets[0].Offset);
        Assert.Equal(5, h.Coordinator.FetchOffsets(Fetch("g", ("topic-a", 0))).Offsets[0].Offset);
        Assert.Equal(ErrorCode.GroupIdNotFound, Done(h.Coordinator.DeleteOffsetsAsync(new OffsetDeleteInput("nope", []))).Error);
    }

    [Fact]
    public void Delete_groups_refuses_non_empty_groups_and_removes_empty_ones_with_their_offsets()
    {
        using var h = new Harness();
        ClassicGroupTests.TwoStableMembers(h);
        Done(h.Coordinator.CommitOffsetsAsync(Commit("simple", -1, string.Empty, ("topic-a", 0, 1))));
        var results = Done(h.Coordinator.DeleteGroupsAsync(["g", "simple", "nope"]));
        Assert.Equal([ErrorCode.NonEmptyGroup, ErrorCode.None, ErrorCode.GroupIdNotFound], results.Select(r => r.Error));
        Assert.Equal(-1, h.Coordinator.FetchOffsets(Fetch("simple", ("topic-a", 0))).Offsets[0].Offset);

        using var reloaded = new Harness(h.Config, h.Log, h.Time);
        Assert.Equal(-1, reloaded.Coordinator.FetchOffsets(Fetch("simple", ("topic-a", 0))).Offsets[0].Offset);
    }

    [Fact]
    public void List_groups_filters_by_state_and_type()
    {
        using var h = new Harness();
        ClassicGroupTests.TwoStableMembers(h);
        h.Heartbeat("kip848", "m1", 0);
        Done(h.Coordinator.CommitOffsetsAsync(Commit("simple", -1, string.Empty, ("topic-a", 0, 1))));
        var all = h.Coordinator.ListGroups();
        Assert.Equal(["g", "kip848", "simple"], all.Groups.Select(g => g.GroupId));
        Assert.Equal(["classic", "consumer", "classic"], all.Groups.Select(g => g.GroupType));
        Assert.Equal(["consumer", "consumer", string.Empty], all.Groups.Select(g => g.ProtocolType));
        Assert.Equal(["g", "kip848"], h.Coordinator.ListGroups(["stable"]).Groups.Select(g => g.GroupId));
        Assert.Equal(["kip848"], h.Coordinator.ListGroups(null, ["Consumer"]).Groups.Select(g => g.GroupId));
        Assert.Equal(["simple"], h.Coordinator.ListGroups(["Empty"], ["classic"]).Groups.Select(g => g.GroupId));
    }
}
