using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gregor.Metadata.Quorum;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

/// <summary>Three Raft voters in this process on loopback, with the production election timeouts.</summary>
public sealed class RaftMetadataQuorumTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ThreeVotersElectCommitEverywhereAndSurviveTheLeadersDeath()
    {
        using var dir = new TempDirectory();
        var voters = new Dictionary<int, IPEndPoint>();
        for (var id = 1; id <= 3; id++)
        {
            voters[id] = new IPEndPoint(IPAddress.Loopback, FreePort());
        }

        var quorums = voters.Keys.ToDictionary(id => id, id => new RaftMetadataQuorum(new RaftQuorumOptions
        {
            NodeId = id,
            Voters = voters,
            LogDirectory = Path.Combine(dir.Path, $"node-{id}"),
        }));
        try
        {
            await Task.WhenAll(quorums.Values.Select(q => q.StartAsync(CancellationToken.None)));

            var leader = await WaitForLeader(quorums.Values);
            Assert.All(quorums.Values, q => Assert.Equal(leader.NodeId, q.Leader.LeaderId));
            await Assert.ThrowsAsync<NotControllerException>(async () =>
                await quorums.Values.First(q => q != leader).AppendAsync(new byte[] { 9 }, CancellationToken.None));

            var first = await leader.AppendAsync(new byte[] { 1, 1 }, CancellationToken.None);
            var second = await leader.AppendAsync(new byte[] { 2, 2 }, CancellationToken.None);
            Assert.True(second > first);
            foreach (var quorum in quorums.Values)
            {
                await WaitUntil(() => quorum.HighWatermark > second);
                var entries = quorum.ReadCommitted(first);
                Assert.Equal([first, second], entries.Select(e => e.Offset));
                Assert.Equal(new byte[] { 2, 2 }, entries[1].Payload.ToArray());
            }

            // Kill the leader: the other two elect a new one in a later epoch and appends continue.
            var oldEpoch = leader.Leader.Epoch;
            await leader.DisposeAsync();
            quorums.Remove(leader.NodeId);
            var stopwatch = Stopwatch.StartNew();
            var newLeader = await WaitForLeader(quorums.Values);
            Assert.NotEqual(leader.NodeId, newLeader.NodeId);
            Assert.True(newLeader.Leader.Epoch > oldEpoch);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"election took {stopwatch.Elapsed}");

            var third = await newLeader.AppendAsync(new byte[] { 3, 3 }, CancellationToken.None);
            Assert.True(third > second);
            foreach (var quorum in quorums.Values)
            {
                await WaitUntil(() => quorum.HighWatermark > third);
                Assert.Equal([first, second, third], quorum.ReadCommitted(first).Select(e => e.Offset));
            }
        }
        finally
        {
            foreach (var quorum in quorums.Values)
            {
                await quorum.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AFollowerThatWasDownCatchesUpFromItsLogAndTheLeader()
    {
        using var dir = new TempDirectory();
        var voters = Enumerable.Range(1, 3).ToDictionary(id => id, _ => new IPEndPoint(IPAddress.Loopback, FreePort()));
        RaftMetadataQuorum Create(int id) => new(new RaftQuorumOptions { NodeId = id, Voters = voters, LogDirectory = Path.Combine(dir.Path, $"node-{id}") });
        var quorums = voters.Keys.ToDictionary(id => id, Create);
        try
        {
            await Task.WhenAll(quorums.Values.Select(q => q.StartAsync(CancellationToken.None)));
            var leader = await WaitForLeader(quorums.Values);
            var first = await leader.AppendAsync(new byte[] { 1 }, CancellationToken.None);
            var followerId = quorums.Keys.First(id => id != leader.NodeId);
            await WaitUntil(() => quorums[followerId].HighWatermark > first);

            // The follower goes down; the remaining majority keeps committing.
            await quorums[followerId].DisposeAsync();
            var second = await leader.AppendAsync(new byte[] { 2 }, CancellationToken.None);
            var third = await leader.AppendAsync(new byte[] { 3 }, CancellationToken.None);

            // Restarted on the same directory, it has every committed entry again, in order.
            quorums[followerId] = Create(followerId);
            await quorums[followerId].StartAsync(CancellationToken.None);
            await WaitUntil(() => quorums[followerId].HighWatermark > third);
            var entries = quorums[followerId].ReadCommitted(first);
            Assert.Equal([first, second, third], entries.Select(e => e.Offset));
            Assert.Equal([1, 2, 3], entries.Select(e => e.Payload.Span[0]).Select(b => (int)b));
        }
        finally
        {
            foreach (var quorum in quorums.Values)
            {
                await quorum.DisposeAsync();
            }
        }
    }

    private static async Task<RaftMetadataQuorum> WaitForLeader(IEnumerable<RaftMetadataQuorum> quorums)
    {
        RaftMetadataQuorum? leader = null;
        await WaitUntil(() =>
        {
            var all = quorums.ToList();
            leader = all.FirstOrDefault(q => q.IsLeader);
            return leader is not null && all.All(q => q.Leader.LeaderId == leader.NodeId);
        });
        return leader!;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Patience, "condition not reached in time");
            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
