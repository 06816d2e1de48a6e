using Gregor.Broker.Tests.Handlers;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>
/// Every version of every group API on the wire, as old and new clients send them: a classic
/// member's whole life (find, join, sync, heartbeat, commit, fetch, describe, list, leave, delete)
/// at each JoinGroup version with the matching versions of the others.
/// </summary>
public sealed class GroupWireTests : IClassFixture<GroupWireTests.Fixture>
{
    private const string Topic = "wire-topic";
    private readonly Fixture _broker;

    public GroupWireTests(Fixture broker)
    {
        _broker = broker;
    }

    /// <summary>A broker whose groups rebalance without the initial delay (that delay has its own coordinator tests).</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly Gregor.TestKit.TempDirectory _directory = new("gregor-group-wire");

        public Gregor.Host.BrokerServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = new Gregor.Host.BrokerServer(new Dictionary<string, string>
            {
                ["listeners"] = "PLAINTEXT://127.0.0.1:0",
                ["log.dirs"] = _directory.Path,
                ["group.initial.rebalance.delay.ms"] = "0",
                ["offsets.topic.num.partitions"] = "3",
            });
            await Server.StartAsync();
        }

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            _directory.Dispose();
        }

        internal Task<WireClient> ConnectAsync() => WireClient.ConnectAsync(Server.BoundEndpoints[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task FindCoordinatorNamesThisBrokerAtEveryVersion(short version)
    {
        await using var client = await _broker.ConnectAsync();
        var request = version >= 4
            ? new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["finder", "another"] }
            : new FindCoordinatorRequest { Key = "finder" };
        var response = await client.SendAsync<FindCoordinatorResponse>(request, version);
        var port = _broker.Server.BoundEndpoints[0].Port;
        if (version >= 4)
        {
            Assert.Equal(["finder", "another"], response.Coordinators.Select(c => c.Key));
            Assert.All(response.Coordinators, c =>
            {
                Assert.Equal((short)ErrorCode.None, c.ErrorCode);
                Assert.Equal(1, c.NodeId);
                Assert.Equal(port, c.Port);
            });
        }
        else
        {
            Assert.Equal((short)ErrorCode.None, response.ErrorCode);
            Assert.Equal(1, response.NodeId);
            Assert.Equal("127.0.0.1", response.Host);
            Assert.Equal(port, response.Port);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public async Task ClassicMemberLifecycleAtEveryVersion(short joinVersion)
    {
        await using var client = await _broker.ConnectAsync();
        await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(Topic, 2), 5);
        var group = $"wire-{joinVersion}";
        var instanceId = joinVersion >= 5 ? $"instance-{joinVersion}" : null;
        short sync = Math.Min(joinVersion, (short)5), heartbeat = Math.Min(joinVersion, (short)4), leave = Math.Min(joinVersion, (short)5);
        short describe = Math.Min(joinVersion, (short)5), list = Math.Min(joinVersion, (short)5), delete = Math.Min(joinVersion, (short)2);
        byte[] subscription = [0, 0, 0, 0, 0, 1, 0, 10, .. "wire-topic"u8, 0xFF, 0xFF, 0xFF, 0xFF];

        var find = await client.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = group }, Math.Min(joinVersion, (short)3));
        Assert.Equal((short)ErrorCode.None, find.ErrorCode);

        JoinGroupRequest Join(string memberId) => new()
        {
            GroupId = group,
            SessionTimeoutMs = 10_000,
            RebalanceTimeoutMs = 10_000,
            MemberId = memberId,
            GroupInstanceId = instanceId,
            ProtocolType = "consumer",
            Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = subscription }],
        };
        var joined = await client.SendAsync<JoinGroupResponse>(Join(string.Empty), joinVersion);
        if (joinVersion >= 4 && instanceId is null)
        {
            Assert.Equal((short)ErrorCode.MemberIdRequired, joined.ErrorCode);
            joined = await client.SendAsync<JoinGroupResponse>(Join(joined.MemberId), joinVersion);
        }

        Assert.Equal((short)ErrorCode.None, joined.ErrorCode);
        Assert.Equal(1, joined.GenerationId);
        Assert.Equal(joined.MemberId, joined.Leader);
        Assert.Equal(joined.MemberId, Assert.Single(joined.Members).MemberId);
        Assert.Equal(subscription, joined.Members[0].Metadata);
        if (joinVersion >= 7)
        {
            Assert.Equal("consumer", joined.ProtocolType);
        }

        Assert.Equal("range", joined.ProtocolName);
        var member = joined.MemberId;

        byte[] assignment = [0, 0, 0, 0, 0, 1, 0, 10, .. "wire-topic"u8, 0, 0, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        var synced = await client.SendAsync<SyncGroupResponse>(new SyncGroupRequest
        {
            GroupId = group,
            GenerationId = 1,
            MemberId = member,
            GroupInstanceId = instanceId,
            ProtocolType = sync >= 5 ? "consumer" : null,
            ProtocolName = sync >= 5 ? "range" : null,
            Assignments = [new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = member, Assignment = assignment }],
        }, sync);
        Assert.Equal((short)ErrorCode.None, synced.ErrorCode);
        Assert.Equal(assignment, synced.Assignment);

        var beat = await client.SendAsync<HeartbeatResponse>(new HeartbeatRequest { GroupId = group, GenerationId = 1, MemberId = member, GroupInstanceId = instanceId }, heartbeat);
        Assert.Equal((short)ErrorCode.None, beat.ErrorCode);

        // v0 commits outside the generation, which a group with members refuses.
        var commit = await client.SendAsync<OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = 1,
            MemberId = member,
            GroupInstanceId = joinVersion >= 7 ? instanceId : null,
            RetentionTimeMs = -1,
            Topics =
            [
                new OffsetCommitRequest.OffsetCommitRequestTopic
                {
                    Name = Topic,
                    Partitions = [new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 1, CommittedOffset = 42, CommittedLeaderEpoch = -1, CommittedMetadata = "meta" }],
                },
                new OffsetCommitRequest.OffsetCommitRequestTopic
                {
                    Name = "no-such-topic",
                    Partitions = [new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = 1, CommittedLeaderEpoch = -1 }],
                },
            ],
        }, joinVersion);
        Assert.Equal(joinVersion == 0 ? (short)ErrorCode.UnknownMemberId : (short)ErrorCode.None, commit.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, commit.Topics[1].Partitions[0].ErrorCode);

        var fetched = await client.SendAsync<OffsetFetchResponse>(FetchRequest(group, joinVersion), joinVersion);
        var partition = joinVersion >= 8 ? fetched.Groups[0].Topics[0].Partitions[0] is var p8 ? (p8.CommittedOffset, p8.Metadata) : default : (fetched.Topics[0].Partitions[0].CommittedOffset, fetched.Topics[0].Partitions[0].Metadata);
        Assert.Equal(joinVersion == 0 ? -1 : 42, partition.CommittedOffset);
        Assert.Equal(joinVersion == 0 ? string.Empty : "meta", partition.Metadata);

        var described = await client.SendAsync<DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group, "never-seen"] }, describe);
        Assert.Equal("Stable", described.Groups[0].GroupState);
        Assert.Equal("range", described.Groups[0].ProtocolData);
        var describedMember = Assert.Single(described.Groups[0].Members);
        Assert.Equal(assignment, describedMember.MemberAssignment);
        Assert.Equal("handler-tests", describedMember.ClientId);
        Assert.Equal("/127.0.0.1", describedMember.ClientHost);
        Assert.Equal(describe >= 4 ? instanceId : null, describedMember.GroupInstanceId);
        Assert.Equal("Dead", described.Groups[1].GroupState);

        var listed = await client.SendAsync<ListGroupsResponse>(new ListGroupsRequest(), list);
        var listedGroup = Assert.Single(listed.Groups, g => g.GroupId == group);
        Assert.Equal("consumer", listedGroup.ProtocolType);

        var leaveRequest = leave >= 3
            ? new LeaveGroupRequest { GroupId = group, Members = [new LeaveGroupRequest.MemberIdentity { MemberId = member, GroupInstanceId = instanceId }] }
            : new LeaveGroupRequest { GroupId = group, MemberId = member };
        var left = await client.SendAsync<LeaveGroupResponse>(leaveRequest, leave);
        Assert.Equal((short)ErrorCode.None, left.ErrorCode);
        if (leave >= 3)
        {
            Assert.Equal((short)ErrorCode.None, Assert.Single(left.Members).ErrorCode);
        }

        var empty = await client.SendAsync<DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, describe);
        Assert.Equal("Empty", empty.Groups[0].GroupState);

        var deleted = await client.SendAsync<DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = [group, group + "-unknown"] }, delete);
        Assert.Equal([(short)ErrorCode.None, (short)ErrorCode.GroupIdNotFound], deleted.Results.Select(r => r.ErrorCode));
    }

    private static OffsetFetchRequest FetchRequest(string group, short version)
    {
        if (version >= 8)
        {
            return new OffsetFetchRequest
            {
                Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = group, MemberEpoch = -1, Topics = [new OffsetFetchRequest.OffsetFetchRequestTopics { Name = Topic, PartitionIndexes = [1] }] }],
            };
        }

        return new OffsetFetchRequest { GroupId = group, Topics = [new OffsetFetchRequest.OffsetFetchRequestTopic { Name = Topic, PartitionIndexes = [1] }] };
    }
}
