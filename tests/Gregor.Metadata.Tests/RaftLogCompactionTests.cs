using Gregor.Metadata.Quorum;
using Gregor.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace Gregor.Metadata.Tests;

/// <summary>
/// Snapshots bound the Raft log on disk: once the metadata snapshot covers a prefix
/// (<see cref="IMetadataQuorum.DeleteBefore"/>), DotNext's write-ahead log drops it, and a voter
/// restarted on its directory comes back with the entries the snapshot did not cover.
/// </summary>
public sealed class RaftLogCompactionTests
{
    private readonly ITestOutputHelper _output;

    public RaftLogCompactionTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task TheWriteAheadLogStaysBoundedBehindSnapshotsAndRestartsFromThem()
    {
        using var dir = new TempDirectory();
        await using var cluster = new RaftTestCluster(dir.Path);
        await cluster.StartAsync();
        var payload = new byte[16 * 1024];
        long last = 0;
        var sizes = new List<long>();
        for (var round = 0; round < 6; round++)
        {
            for (var i = 0; i < 64; i++)
            {
                payload[0] = (byte)round;
                payload[1] = (byte)i;
                last = await cluster.AppendAsync(payload);
            }

            // Every voter's metadata snapshot now covers everything up to `last`.
            foreach (var quorum in cluster.Quorums.Values)
            {
                await RaftTestCluster.WaitUntil(() => quorum.HighWatermark > last);
                quorum.DeleteBefore(last + 1);
            }

            // The Raft snapshot is taken at the next applied entry.
            last = await cluster.AppendAsync([0xEE, (byte)round]);
            foreach (var quorum in cluster.Quorums.Values)
            {
                await RaftTestCluster.WaitUntil(() => quorum.HighWatermark > last);
            }

            await Task.Delay(300);
            sizes.Add(WalBytes(dir.Path));
            _output.WriteLine($"round {round}: {64 * 16} KiB appended per voter, WAL directories {sizes[^1] / 1024} KiB in total");
        }

        // 6 MiB went through each of the three voters; without compaction the WALs would hold ~18 MiB.
        Assert.True(sizes[^1] < 12L * 1024 * 1024, $"WAL directories hold {sizes[^1]} bytes after compaction");

        // A voter restarted on its directory has the entries after its snapshot at their offsets.
        var leader = await cluster.WaitForLeaderAsync();
        var followerId = cluster.Quorums.Keys.First(id => id != leader.NodeId);
        await cluster.KillAsync(followerId);
        var afterRestart = await cluster.AppendAsync([0xAA]);
        cluster.Quorums[followerId] = cluster.Create(followerId);
        await cluster.Quorums[followerId].StartAsync(CancellationToken.None);
        var restarted = cluster.Quorums[followerId];
        await RaftTestCluster.WaitUntil(() => restarted.HighWatermark > afterRestart);
        var entries = restarted.ReadCommitted(restarted.LogStartOffset);
        Assert.Contains(entries, e => e.Offset == afterRestart && e.Payload.Span[0] == 0xAA);
        Assert.Contains(entries, e => e.Offset == last && e.Payload.Span[0] == 0xEE);
    }

    private static long WalBytes(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => f.Contains($"{Path.DirectorySeparatorChar}wal{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f).Length);
}
