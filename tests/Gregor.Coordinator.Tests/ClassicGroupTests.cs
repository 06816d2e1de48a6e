using Gregor.Protocol;
using static Gregor.Coordinator.Tests.Harness;

namespace Gregor.Coordinator.Tests;

public sealed class ClassicGroupTests
{
    [Fact]
    public void Join_requires_member_id_then_single_member_becomes_stable_leader()
    {
        using var h = new Harness();
        var join = Done(h.JoinNew("g"));
        Assert.Equal(ErrorCode.None, join.Error);
        Assert.Equal(1, join.GenerationId);
        Assert.Equal("range", join.ProtocolName);
        Assert.Equal(join.MemberId, join.LeaderId);
        Assert.Single(join.Members);

        var sync = Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 1, join.MemberId, null, "consumer", "range", [new SyncGroupAssignment(join.MemberId, [1, 2, 3])])));
        Assert.Equal(ErrorCode.None, sync.Error);
        Assert.Equal(new byte[] { 1, 2, 3 }, sync.Assignment);
        Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 1, join.MemberId, null))));
        var described = Assert.Single(h.Coordinator.DescribeGroups(["g"]));
        Assert.Equal("Stable", described.GroupState);
        Assert.Equal("range", described.ProtocolData);
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single(described.Members).MemberAssignment);
    }

    [Fact]
    public void Second_member_triggers_rebalance_and_leader_gets_every_members_metadata()
    {
        using var h = new Harness();
        var a = Done(h.JoinNew("g"));
        Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 1, a.MemberId, null, null, null, [new SyncGroupAssignment(a.MemberId, [9])])));

        var bJoin = h.JoinNew("g");
        Assert.False(bJoin.IsCompleted);
        Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 1, a.MemberId, null))));

        // A stale sync of the old generation is refused while the group rebalances.
        Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 1, a.MemberId, null, null, null, []))).Error);

        var aJoin = Done(h.Coordinator.JoinGroupAsync(Join("g", a.MemberId)));
        var b = Done(bJoin);
        Assert.Equal(2, aJoin.GenerationId);
        Assert.Equal(2, b.GenerationId);
        Assert.Equal(a.MemberId, aJoin.LeaderId);
        Assert.Equal(a.MemberId, b.LeaderId);
        Assert.Equal(2, aJoin.Members.Count);
        Assert.Empty(b.Members);

        var followerSync = h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, b.MemberId, null, null, null, []));
        Assert.False(followerSync.IsCompleted);
        Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, b.MemberId, null))));
        var leaderSync = Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, a.MemberId, null, null, null,
            [new SyncGroupAssignment(a.MemberId, [1]), new SyncGroupAssignment(b.MemberId, [2])])));
        Assert.Equal(new byte[] { 1 }, leaderSync.Assignment);
        Assert.Equal(new byte[] { 2 }, Done(followerSync).Assignment);
    }

    [Fact]
    public void Member_that_stops_heartbeating_is_removed_after_session_timeout()
    {
        using var h = new Harness();
        var (a, b) = TwoStableMembers(h);
        for (var i = 0; i < 3; i++)
        {
            h.Time.AdvanceMs(3000);
            Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a, null))));
        }

        // 11 s > b's 10 s session timeout: b is gone and a is told to rejoin.
        h.Time.AdvanceMs(2000);
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, b, null))));
        Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a, null))));
        var rejoin = Done(h.Coordinator.JoinGroupAsync(Join("g", a)));
        Assert.Equal(3, rejoin.GenerationId);
        Assert.Equal(a, Assert.Single(rejoin.Members).MemberId);
    }

    [Fact]
    public void Members_that_do_not_rejoin_within_the_rebalance_timeout_are_dropped()
    {
        using var h = new Harness();
        var (a, b) = TwoStableMembers(h);

        // The leader rejoining starts a rebalance; b keeps heartbeating but never rejoins.
        var aJoin = h.Coordinator.JoinGroupAsync(Join("g", a, rebalanceTimeoutMs: 20_000));
        Assert.False(aJoin.IsCompleted);
        for (var i = 0; i < 3; i++)
        {
            h.Time.AdvanceMs(5000);
            Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, b, null))));
        }

        Assert.False(aJoin.IsCompleted);
        h.Time.AdvanceMs(15_000);
        var result = Done(aJoin);
        Assert.Equal(3, result.GenerationId);
        Assert.Equal(a, Assert.Single(result.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 3, b, null))));
    }

    [Fact]
    public void Errors_for_wrong_generation_unknown_member_and_bad_session_timeout()
    {
        using var h = new Harness();
        var (a, _) = TwoStableMembers(h);
        Assert.Equal(ErrorCode.IllegalGeneration, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 1, a, null))));
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, "nobody", null))));
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("no-such-group", 2, a, null))));
        Assert.Equal(ErrorCode.IllegalGeneration, Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 7, a, null, null, null, []))).Error);
        Assert.Equal(ErrorCode.InvalidSessionTimeout, Done(h.Coordinator.JoinGroupAsync(Join("g", sessionTimeoutMs: 1000))).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.JoinGroupAsync(Join("other", "made-up"))).Error);
        Assert.Equal(ErrorCode.InvalidGroupId, Done(h.Coordinator.JoinGroupAsync(Join(string.Empty))).Error);
    }

    [Fact]
    public void Protocol_is_chosen_by_vote_among_protocols_every_member_supports()
    {
        using var h = new Harness();
        var meta = Subscription("topic-a");
        var first = Done(h.Coordinator.JoinGroupAsync(Join("g", protocols: [new GroupProtocol("range", meta), new GroupProtocol("roundrobin", meta)])));
        Assert.Equal("range", first.ProtocolName);
        var second = h.Coordinator.JoinGroupAsync(Join("g", protocols: [new GroupProtocol("roundrobin", meta), new GroupProtocol("range", meta)]));
        var third = h.Coordinator.JoinGroupAsync(Join("g", protocols: [new GroupProtocol("roundrobin", meta), new GroupProtocol("range", meta)]));
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, Done(h.Coordinator.JoinGroupAsync(Join("g", protocols: [new GroupProtocol("sticky", meta)]))).Error);
        var rejoin = Done(h.Coordinator.JoinGroupAsync(Join("g", first.MemberId, protocols: [new GroupProtocol("range", meta), new GroupProtocol("roundrobin", meta)])));
        Assert.Equal("roundrobin", rejoin.ProtocolName);
        Assert.Equal("roundrobin", Done(second).ProtocolName);
        Assert.Equal(2, Done(third).GenerationId);
    }

    [Fact]
    public void Initial_rebalance_delay_waits_for_more_members_and_extends_while_they_arrive()
    {
        using var h = new Harness(new GroupCoordinatorConfig { GroupInitialRebalanceDelayMs = 3000 });
        var a = h.Coordinator.JoinGroupAsync(Join("g", rebalanceTimeoutMs: 10_000));
        h.Time.AdvanceMs(1000);
        var b = h.Coordinator.JoinGroupAsync(Join("g", rebalanceTimeoutMs: 10_000));
        h.Time.AdvanceMs(1999);
        Assert.False(a.IsCompleted);
        h.Time.AdvanceMs(1);

        // b arrived during the first delay, so the group waits one more delay.
        Assert.False(a.IsCompleted);
        h.Time.AdvanceMs(3000);
        Assert.Equal(1, Done(a).GenerationId);
        Assert.Equal(2, Done(a).Members.Count);
        Assert.Equal(1, Done(b).GenerationId);
    }

    [Fact]
    public void Static_member_restart_keeps_its_assignment_without_a_rebalance()
    {
        using var h = new Harness();
        var a = Done(h.Coordinator.JoinGroupAsync(Join("g", instanceId: "instance-a")));
        var bTask = h.Coordinator.JoinGroupAsync(Join("g", instanceId: "instance-b"));
        var aRejoin = Done(h.Coordinator.JoinGroupAsync(Join("g", a.MemberId, instanceId: "instance-a")));
        var b = Done(bTask);
        Assert.Equal(2, aRejoin.GenerationId);
        var bSync = h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, b.MemberId, "instance-b", null, null, []));
        Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, a.MemberId, "instance-a", null, null,
            [new SyncGroupAssignment(a.MemberId, [0xA]), new SyncGroupAssignment(b.MemberId, [0xB])])));
        Assert.Equal(new byte[] { 0xB }, Done(bSync).Assignment);

        // b restarts: it joins with no member id but its instance id and gets the same generation back,
        // even though its subscription metadata differs (a restarted client owns no partitions yet).
        var restarted = Done(h.Coordinator.JoinGroupAsync(Join("g", instanceId: "instance-b", protocols: [new GroupProtocol("range", Subscription("topic-a", "other"))])));
        Assert.Equal(ErrorCode.None, restarted.Error);
        Assert.Equal(2, restarted.GenerationId);
        Assert.NotEqual(b.MemberId, restarted.MemberId);
        Assert.Equal("Stable", h.Coordinator.DescribeGroups(["g"])[0].GroupState);
        Assert.Equal(new byte[] { 0xB }, Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, restarted.MemberId, "instance-b", null, null, []))).Assignment);

        // The old incarnation is fenced; the leader did not have to rejoin.
        Assert.Equal(ErrorCode.FencedInstanceId, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, b.MemberId, "instance-b"))));
        Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a.MemberId, "instance-a"))));
    }

    [Fact]
    public void Batched_leave_empties_the_group_and_bumps_the_generation()
    {
        using var h = new Harness();
        var (a, b) = TwoStableMembers(h);
        var leave = Done(h.Coordinator.LeaveGroupAsync(new LeaveGroupInput("g", [new LeaveGroupMember(a, null), new LeaveGroupMember(b, null), new LeaveGroupMember("ghost", null)])));
        Assert.Equal(ErrorCode.None, leave.Error);
        Assert.Equal([ErrorCode.None, ErrorCode.None, ErrorCode.UnknownMemberId], leave.Members.Select(m => m.Error));
        var described = h.Coordinator.DescribeGroups(["g"])[0];
        Assert.Equal("Empty", described.GroupState);
        Assert.Empty(described.Members);
    }

    [Fact]
    public void Closing_one_of_two_members_rebalances_immediately()
    {
        using var h = new Harness();
        var (a, b) = TwoStableMembers(h);
        Done(h.Coordinator.LeaveGroupAsync(new LeaveGroupInput("g", [new LeaveGroupMember(b, null)])));
        Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a, null))));
        var rejoin = Done(h.Coordinator.JoinGroupAsync(Join("g", a)));
        Assert.Equal(3, rejoin.GenerationId);
    }

    [Fact]
    public void Pending_member_that_never_rejoins_expires_and_does_not_block_the_rebalance()
    {
        using var h = new Harness();
        var (a, b) = TwoStableMembers(h);
        var pending = Done(h.Coordinator.JoinGroupAsync(Join("g", requireKnownMemberId: true)));
        Assert.Equal(ErrorCode.MemberIdRequired, pending.Error);
        var aJoin = h.Coordinator.JoinGroupAsync(Join("g", a));
        var bJoin = h.Coordinator.JoinGroupAsync(Join("g", b));
        Assert.False(aJoin.IsCompleted);
        h.Time.AdvanceMs(10_000);
        Assert.Equal(3, Done(aJoin).GenerationId);
        Assert.Equal(2, Done(aJoin).Members.Count);
        Assert.Equal(3, Done(bJoin).GenerationId);
    }

    [Fact]
    public void Member_that_joins_but_never_syncs_is_removed_after_the_rebalance_timeout()
    {
        using var h = new Harness();
        var a = Done(h.JoinNew("g", rebalanceTimeoutMs: 20_000));
        var bJoin = h.JoinNew("g", rebalanceTimeoutMs: 20_000);
        Done(h.Coordinator.JoinGroupAsync(Join("g", a.MemberId, rebalanceTimeoutMs: 20_000)));
        var b = Done(bJoin);

        // The leader syncs; b only heartbeats, which keeps its session alive but not its place.
        Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, a.MemberId, null, null, null, [new SyncGroupAssignment(a.MemberId, [1]), new SyncGroupAssignment(b.MemberId, [2])])));
        for (var i = 0; i < 4; i++)
        {
            h.Time.AdvanceMs(4000);
            Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, b.MemberId, null))));
            Assert.Equal(ErrorCode.None, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a.MemberId, null))));
        }

        h.Time.AdvanceMs(4000);
        Assert.Equal(ErrorCode.UnknownMemberId, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, b.MemberId, null))));
        Assert.Equal(ErrorCode.RebalanceInProgress, Done(h.Coordinator.HeartbeatAsync(new HeartbeatInput("g", 2, a.MemberId, null))));
    }

    internal static (string A, string B) TwoStableMembers(Harness h)
    {
        var a = Done(h.JoinNew("g"));
        var bJoin = h.JoinNew("g");
        var aJoin = Done(h.Coordinator.JoinGroupAsync(Join("g", a.MemberId)));
        var b = Done(bJoin);
        Assert.Equal(2, aJoin.GenerationId);
        var bSync = h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, b.MemberId, null, null, null, []));
        Done(h.Coordinator.SyncGroupAsync(new SyncGroupInput("g", 2, a.MemberId, null, null, null, [new SyncGroupAssignment(a.MemberId, [1]), new SyncGroupAssignment(b.MemberId, [2])])));
        Done(bSync);
        return (a.MemberId, b.MemberId);
    }
}
