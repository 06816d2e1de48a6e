using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gregor.Metadata.Quorum;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

/// <summary>
/// Three Raft voters in this process on loopback, with the timeouts the factory derives from
/// Kafka's default <c>controller.quorum.election.timeout.ms</c> (1000–2000 ms). On a loaded machine
/// leadership may move at any moment, so helpers act on whoever leads now and retry on
/// NOT_CONTROLLER, as a client of the controller does.
/// </summary>
internal sealed class RaftTestCluster : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly Dictionary<int, IPEndPoint> _voters;
    private readonly string _directory;

    public RaftTestCluster(string directory)
    {
        _directory = directory;
        _voters = Enumerable.Range(1, 3).ToDictionary(id => id, _ => new IPEndPoint(IPAddress.Loopback, TestPorts.Reserve(1)[0]));
        foreach (var id in _voters.Keys)
        {
            Quorums[id] = Create(id);
        }
    }

    public Dictionary<int, RaftMetadataQuorum> Quorums { get; } = new();

    public RaftMetadataQuorum Create(int id) => new(new RaftQuorumOptions
    {
        NodeId = id,
        Voters = _voters,
        LogDirectory = Path.Combine(_directory, $"node-{id}"),
        LowerElectionTimeoutMs = 1000,
        UpperElectionTimeoutMs = 2000,
    });

    public Task StartAsync() => Task.WhenAll(Quorums.Values.Select(q => q.StartAsync(CancellationToken.None)));

    /// <summary>Appends through the current leader; returns the acknowledged offset.</summary>
    public async Task<long> AppendAsync(byte[] payload)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var leader = Quorums.Values.FirstOrDefault(q => q.IsLeader);
            if (leader is not null)
            {
                try
                {
                    return await leader.AppendAsync(payload, CancellationToken.None);
                }
                catch (NotControllerException) when (stopwatch.Elapsed < Patience)
                {
                }
            }

            Assert.True(stopwatch.Elapsed < Patience, "no leader accepted the append in time");
            await Task.Delay(50);
        }
    }

    public async Task<RaftMetadataQuorum> WaitForLeaderAsync()
    {
        RaftMetadataQuorum? leader = null;
        await WaitUntil(() =>
        {
            leader = Quorums.Values.FirstOrDefault(q => q.IsLeader);
            return leader is not null;
        });
        return leader!;
    }

    public async Task KillAsync(int id)
    {
        await Quorums[id].DisposeAsync();
        Quorums.Remove(id);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var quorum in Quorums.Values)
        {
            await quorum.DisposeAsync();
        }
    }

    public static async Task WaitUntil(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < Patience, "condition not reached in time");
            await Task.Delay(50);
        }
    }
}
