using Gregor.Protocol;
using static Gregor.Coordinator.Tests.Harness;

namespace Gregor.Coordinator.Tests;

public sealed class ConsumerGroupTests
{
    private static HashSet<int> PartitionsOf(IReadOnlyList<TopicIdPartitions>? assignment, Uuid topic) =>
        [.. (assignment ?? []).Where(t => t.TopicId == topic).SelectMany(t => t.Partitions)];

    private static List<TopicIdPartitions> Owned(Uuid topic, IEnumerable<int> partitions) => [new TopicIdPartitions(topic, [.. partitions])];

    [Fact]
    public void First_member_gets_every_partition_and_the_first_epoch()
    {
        using var h = new Harness();
        var r = h.Heartbeat("g", "m1", 0);
        Assert.Equal(ErrorCode.None, r.Error);
        Assert.Equal("m1", r.MemberId);
        Assert.Equal(1, r.MemberEpoch);
        Assert.Equal(5000, r.HeartbeatIntervalMs);
        Assert.Equal([0, 1, 2, 3, 4, 5], PartitionsOf(r.Assignment, TopicA).Order());
        var described = Assert.Single(h.Coordinator.ConsumerGroupDescribe(["g"]));
        Assert.Equal("Stable", described.GroupState);
        Assert.Equal("uniform", described.AssignorName);
        Assert.Equal("topic-a", Assert.Single(Assert.Single(described.Members).Assignment).TopicName);
    }

    [Fact]
    public void Second_member_gets_partitions_only_after_the_first_revokes_them()
    {
        using var h = new Harness();
        h.Heartbeat("g", "m1", 0);
        var m2 = h.Heartbeat("g", "m2", 0);
        Assert.Equal(2, m2.MemberEpoch);
        Assert.Empty(PartitionsOf(m2.Assignment, TopicA));
        Assert.Equal("Reconciling", h.Coordinator.ConsumerGroupDescribe(["g"])[0].GroupState);

        // m1 must give up three partitions; it keeps its epoch until it has.
        var m1 = h.Heartbeat("g", "m1", 1);
        Assert.Equal(1, m1.MemberEpoch);
        var kept = PartitionsOf(m1.Assignment, TopicA);
        Assert.Equal(3, kept.Count);

        // Until m1 reports the revocation, m2 gets nothing.
        Assert.Null(h.Heartbeat("g", "m2", 2).Assignment);
        m1 = h.Heartbeat("g", "m1", 1, owned: Owned(TopicA, kept));
        Assert.Equal(2, m1.MemberEpoch);
        m2 = h.Heartbeat("g", "m2", 2);
        var given = PartitionsOf(m2.Assignment, TopicA);
        Assert.Equal(3, given.Count);
        Assert.Empty(given.Intersect(kept));
        Assert.Equal(6, given.Union(kept).Count());
        Assert.Equal("Stable", h.Coordinator.ConsumerGroupDescribe(["g"])[0].GroupState);
    }

    [Fact]
    public void Seven_members_on_six_partitions_leave_exactly_one_idle()
    {
        using var h = new Harness();
        var epochs = new Dictionary<string, int>();
        var owned = new Dictionary<string, HashSet<int>>();
        for (var i = 0; i < 7; i++)
        {
            var r = h.Heartbeat("g", $"m{i}", 0);
            epochs[$"m{i}"] = r.MemberEpoch;
            owned[$"m{i}"] = PartitionsOf(r.Assignment, TopicA);
        }

        // Let everyone converge: heartbeat each member with what it owns until nothing changes.
        for (var round = 0; round < 5; round++)
        {
            foreach (var m in epochs.Keys.ToList())
            {
                var r = h.Heartbeat("g", m, epochs[m], owned: Owned(TopicA, owned[m]));
                Assert.Equal(ErrorCode.None, r.Error);
                epochs[m] = r.MemberEpoch;
                if (r.Assignment is not null)
                {
                    owned[m] = PartitionsOf(r.Assignment, TopicA);
                }
            }
        }

        Assert.Equal(1, owned.Values.Count(p => p.Count == 0));
        Assert.Equal(6, owned.Values.Sum(p => p.Count));
        Assert.Equal(6, owned.Values.SelectMany(p => p).Distinct().Count());
        Assert.Equal("Stable", h.Coordinator.ConsumerGroupDescribe(["g"])[0].GroupState);
    }

    [Fact]
    public void Member_that_stops_heartbeating_is_fenced_after_the_session_timeout_and_others_take_over()
    {
        using var h = new Harness(new GroupCoordinatorConfig { ConsumerGroupSessionTimeoutMs = 10_000 });
        var (m1Owned, _) = TwoStableMembers(h);
        for (var i = 0; i < 4; i++)
        {
            h.Time.AdvanceMs(3000);
            h.Heartbeat("g", "m1", 2);
        }

        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat("g", "m2", 2).Error);
        var r = h.Heartbeat("g", "m1", 2, owned: Owned(TopicA, m1Owned));
        Assert.Equal(3, r.MemberEpoch);
        Assert.Equal([0, 1, 2, 3, 4, 5], PartitionsOf(r.Assignment, TopicA).Order());
    }

    [Fact]
    public void Leaving_member_frees_its_partitions_at_once()
    {
        using var h = new Harness();
        TwoStableMembers(h);
        var leave = h.Heartbeat("g", "m2", -1);
        Assert.Equal(-1, leave.MemberEpoch);
        var r = h.Heartbeat("g", "m1", 2);
        Assert.Equal(6, PartitionsOf(r.Assignment, TopicA).Count);
    }

    [Fact]
    public void Epoch_fencing_and_unknown_members()
    {
        using var h = new Harness();
        h.Heartbeat("g", "m1", 0);
        Assert.Equal(ErrorCode.FencedMemberEpoch, h.Heartbeat("g", "m1", 5).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat("g", "ghost", 1).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, h.Heartbeat("nope", "m1", 1).Error);
        Assert.Equal(ErrorCode.UnsupportedAssignor, h.Heartbeat("g", "m2", 0, assignor: "sticky").Error);
        var invalid = Done(h.Coordinator.ConsumerGroupHeartbeatAsync(new ConsumerGroupHeartbeatInput("g", "m3", 0, null, null, -1, ["topic-a"], null, null, [], "c", "h")));
        Assert.Equal(ErrorCode.InvalidRequest, invalid.Error);

        // A classic group with members cannot be joined with the new protocol.
        Done(h.Coordinator.JoinGroupAsync(Join("classic")));
        Assert.Equal(ErrorCode.GroupIdNotFound, h.Heartbeat("classic", "m1", 0).Error);
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, Done(h.Coordinator.JoinGroupAsync(Join("g"))).Error);
    }

    [Fact]
    public void Static_member_that_leaves_temporarily_gets_its_partitions_back()
    {
        using var h = new Harness();
        var first = h.Heartbeat("g", "m1", 0, instanceId: "i1");
        var second = h.Heartbeat("g", "m2", 0, instanceId: "i2");
        var m1 = h.Heartbeat("g", "m1", first.MemberEpoch, owned: Owned(TopicA, PartitionsOf(first.Assignment, TopicA)));
        var m1Kept = PartitionsOf(m1.Assignment, TopicA);
        h.Heartbeat("g", "m1", 1, owned: Owned(TopicA, m1Kept));
        var m2 = h.Heartbeat("g", "m2", second.MemberEpoch);
        var m2Owned = PartitionsOf(m2.Assignment, TopicA);
        Assert.Equal(3, m2Owned.Count);

        Assert.Equal(-2, h.Heartbeat("g", "m2", -2, instanceId: "i2").MemberEpoch);
        Assert.Equal(ErrorCode.UnreleasedInstanceId, h.Heartbeat("g", "m1-dup", 0, instanceId: "i1").Error);

        var restarted = h.Heartbeat("g", "m2-new", 0, instanceId: "i2");
        Assert.Equal(ErrorCode.None, restarted.Error);
        Assert.Equal(m2Owned, PartitionsOf(restarted.Assignment, TopicA));
        Assert.Equal(2, restarted.MemberEpoch);
        Assert.Equal(2, h.Coordinator.ConsumerGroupDescribe(["g"])[0].GroupEpoch);
    }

    [Fact]
    public void Range_assignor_gives_each_member_the_same_partition_numbers_of_every_topic()
    {
        using var h = new Harness();
        var topics = new[] { "topic-a", "topic-b" };
        h.Heartbeat("g", "a", 0, topics, assignor: "range");
        h.Heartbeat("g", "b", 0, topics, assignor: "range");
        var described = h.Coordinator.ConsumerGroupDescribe(["g"])[0];
        Assert.Equal("range", described.AssignorName);
        var a = described.Members.Single(m => m.MemberId == "a").TargetAssignment;
        var b = described.Members.Single(m => m.MemberId == "b").TargetAssignment;
        Assert.Equal([0, 1, 2], a.Single(t => t.TopicName == "topic-a").Partitions);
        Assert.Equal([3, 4, 5], b.Single(t => t.TopicName == "topic-a").Partitions);
        Assert.Equal([0, 1], a.Single(t => t.TopicName == "topic-b").Partitions);
        Assert.Equal([2], b.Single(t => t.TopicName == "topic-b").Partitions);
    }

    [Fact]
    public void New_partitions_bump_the_group_epoch_and_are_assigned()
    {
        using var h = new Harness();
        var r = h.Heartbeat("g", "m1", 0);
        h.Topics.AddOrUpdate(new TopicInfo(TopicA, "topic-a", 8));
        r = h.Heartbeat("g", "m1", r.MemberEpoch);
        Assert.Equal(2, r.MemberEpoch);
        Assert.Equal(8, PartitionsOf(r.Assignment, TopicA).Count);
    }

    [Fact]
    public void Member_that_does_not_revoke_within_its_rebalance_timeout_is_fenced()
    {
        using var h = new Harness();
        h.Heartbeat("g", "m1", 0);
        h.Heartbeat("g", "m2", 0);
        h.Heartbeat("g", "m1", 1);

        // m1 keeps heartbeating without revoking; after 30 s (its rebalance timeout) it is removed.
        for (var i = 0; i < 11; i++)
        {
            h.Time.AdvanceMs(3000);
            var m1 = h.Heartbeat("g", "m1", 1);
            if (m1.Error != ErrorCode.None)
            {
                Assert.Equal(ErrorCode.UnknownMemberId, m1.Error);
                Assert.True(i >= 9, $"fenced after {(i + 1) * 3} s");
                var m2 = h.Heartbeat("g", "m2", 2);
                Assert.Equal(6, PartitionsOf(m2.Assignment, TopicA).Count);
                return;
            }

            h.Heartbeat("g", "m2", 2);
        }

        Assert.Fail("m1 was never fenced");
    }

    [Fact]
    public void Consumer_group_state_survives_a_coordinator_restart()
    {
        var h = new Harness();
        var (m1Owned, m2Owned) = TwoStableMembers(h);
        h = h.Restart();
        var described = h.Coordinator.ConsumerGroupDescribe(["g"])[0];
        Assert.Equal(ErrorCode.None, described.Error);
        Assert.Equal(2, described.GroupEpoch);
        Assert.Equal(2, described.AssignmentEpoch);
        Assert.Equal(m1Owned, described.Members.Single(m => m.MemberId == "m1").Assignment.SelectMany(t => t.Partitions).ToHashSet());
        Assert.Equal(m2Owned, described.Members.Single(m => m.MemberId == "m2").Assignment.SelectMany(t => t.Partitions).ToHashSet());

        // Members carry on with their epochs as if nothing happened.
        var r = h.Heartbeat("g", "m1", 2, owned: Owned(TopicA, m1Owned));
        Assert.Equal(ErrorCode.None, r.Error);
        Assert.Equal(2, r.MemberEpoch);
        h.Dispose();
    }

    [Fact]
    public void Regex_subscription_covers_matching_topics_and_picks_up_new_ones()
    {
        using var h = new Harness();
        var r = Done(h.Coordinator.ConsumerGroupHeartbeatAsync(new ConsumerGroupHeartbeatInput("g", "m1", 0, null, null, 30_000, [], "topic-.*", null, [], "c", "h")));
        Assert.Equal(ErrorCode.None, r.Error);
        Assert.Equal(6, PartitionsOf(r.Assignment, TopicA).Count);
        Assert.Equal(3, PartitionsOf(r.Assignment, TopicB).Count);

        var topicC = new Uuid(0x5555, 0x6666);
        h.Topics.AddOrUpdate(new TopicInfo(topicC, "topic-c", 2));
        h.Topics.AddOrUpdate(new TopicInfo(new Uuid(0x7777, 0x8888), "other", 2));
        r = h.Heartbeat("g", "m1", r.MemberEpoch);
        Assert.Equal(2, PartitionsOf(r.Assignment, topicC).Count);
        Assert.Equal(11, r.Assignment!.Sum(t => t.Partitions.Count));

        var bad = Done(h.Coordinator.ConsumerGroupHeartbeatAsync(new ConsumerGroupHeartbeatInput("g", "m2", 0, null, null, 30_000, [], "topic-(", null, [], "c", "h")));
        Assert.Equal(ErrorCode.InvalidRegularExpression, bad.Error);
    }

    [Fact]
    public void Consumer_protocol_can_be_disabled()
    {
        using var h = new Harness(new GroupCoordinatorConfig { ConsumerProtocolEnabled = false });
        Assert.Equal(ErrorCode.UnsupportedVersion, h.Heartbeat("g", "m1", 0).Error);
    }

    /// <summary>m1 and m2 on topic-a, reconciled to epoch 2 with three partitions each.</summary>
    private static (HashSet<int> M1, HashSet<int> M2) TwoStableMembers(Harness h)
    {
        h.Heartbeat("g", "m1", 0);
        h.Heartbeat("g", "m2", 0);
        var kept = PartitionsOf(h.Heartbeat("g", "m1", 1).Assignment, TopicA);
        Assert.Equal(2, h.Heartbeat("g", "m1", 1, owned: Owned(TopicA, kept)).MemberEpoch);
        var m2 = PartitionsOf(h.Heartbeat("g", "m2", 2).Assignment, TopicA);
        Assert.Equal(3, m2.Count);
        return (kept, m2);
    }
}
