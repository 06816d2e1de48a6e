using System.Diagnostics;
using Gregor.Metadata.Quorum;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

public sealed class RaftMetadataQuorumTests
{
    [Fact]
    public async Task ThreeVotersElectCommitEverywhereAndSurviveTheLeadersDeath()
    {
        using var dir = new TempDirectory();
        await using var cluster = new RaftTestCluster(dir.Path);
        await cluster.StartAsync();

        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Quorums.Values.First(q => q != leader);
        if (!follower.IsLeader)
        {
            await Assert.ThrowsAsync<NotControllerException>(async () => await follower.AppendAsync(new byte[] { 9 }, CancellationToken.None));
        }

        var acknowledged = new Dictionary<long, byte>();
        for (byte b = 1; b <= 2; b++)
        {
            acknowledged[await cluster.AppendAsync([b, b])] = b;
        }

        await AssertEveryVoterHas(cluster, acknowledged);

        // Kill the leader: the other two elect a new one in a later epoch and appends continue.
        leader = await cluster.WaitForLeaderAsync();
        var oldEpoch = leader.Leader.Epoch;
        await cluster.KillAsync(leader.NodeId);
        var stopwatch = Stopwatch.StartNew();
        var newLeader = await cluster.WaitForLeaderAsync();
        Assert.NotEqual(leader.NodeId, newLeader.NodeId);
        Assert.True(newLeader.Leader.Epoch > oldEpoch, $"epoch {newLeader.Leader.Epoch} after {oldEpoch}");
        acknowledged[await cluster.AppendAsync([3, 3])] = 3;
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"failover took {stopwatch.Elapsed}");
        await AssertEveryVoterHas(cluster, acknowledged);
    }

    [Fact]
    public async Task AFollowerThatWasDownCatchesUpFromItsLogAndTheLeader()
    {
        using var dir = new TempDirectory();
        await using var cluster = new RaftTestCluster(dir.Path);
        await cluster.StartAsync();
        var acknowledged = new Dictionary<long, byte> { [await cluster.AppendAsync([1])] = 1 };
        await AssertEveryVoterHas(cluster, acknowledged);

        // A follower goes down; the remaining majority keeps committing.
        var leader = await cluster.WaitForLeaderAsync();
        var followerId = cluster.Quorums.Keys.First(id => id != leader.NodeId);
        await cluster.KillAsync(followerId);
        acknowledged[await cluster.AppendAsync([2])] = 2;
        acknowledged[await cluster.AppendAsync([3])] = 3;

        // Restarted on the same directory, it holds every acknowledged entry at its offset again.
        cluster.Quorums[followerId] = cluster.Create(followerId);
        await cluster.Quorums[followerId].StartAsync(CancellationToken.None);
        await AssertEveryVoterHas(cluster, acknowledged);
    }

    /// <summary>Every acknowledged entry is committed on every live voter, at its acknowledged offset, in offset order.</summary>
    private static async Task AssertEveryVoterHas(RaftTestCluster cluster, Dictionary<long, byte> acknowledged)
    {
        var last = acknowledged.Keys.Max();
        foreach (var quorum in cluster.Quorums.Values)
        {
            await RaftTestCluster.WaitUntil(() => quorum.HighWatermark > last);
            var entries = quorum.ReadCommitted(0).ToDictionary(e => e.Offset);
            foreach (var (offset, value) in acknowledged)
            {
                Assert.True(entries.TryGetValue(offset, out var entry), $"node {quorum.NodeId} lacks offset {offset}");
                Assert.Equal(value, entry.Payload.Span[0]);
            }

            var offsets = quorum.ReadCommitted(0).Select(e => e.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
        }
    }
}
