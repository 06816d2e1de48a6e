using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gregor.Metadata.Controller;
using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Protocol;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

/// <summary>A controller quorum of three in this process: kill the active controller, topics can be created again within seconds.</summary>
public sealed class RaftControllerTests
{
    [Fact]
    public async Task KillingTheActiveControllerElectsANewOneThatCreatesTopicsOnTheWholeLog()
    {
        using var dir = new TempDirectory();
        var voters = Enumerable.Range(1, 3).ToDictionary(id => id, _ => new IPEndPoint(IPAddress.Loopback, FreePort()));
        var nodes = new Dictionary<int, (RaftMetadataQuorum Quorum, QuorumController Controller)>();
        foreach (var id in voters.Keys)
        {
            var quorum = new RaftMetadataQuorum(new RaftQuorumOptions { NodeId = id, Voters = voters, LogDirectory = Path.Combine(dir.Path, $"c{id}") });
            nodes[id] = (quorum, new QuorumController(quorum, new QuorumControllerOptions(), TimeProvider.System));
        }

        try
        {
            await Task.WhenAll(nodes.Values.Select(n => n.Quorum.StartAsync(CancellationToken.None)));
            var active = await WaitForActive(nodes.Values.Select(n => n.Controller));
            Assert.Equal(ErrorCode.None, (await active.RegisterBrokerAsync(
                new BrokerRegistrationRequestData(1, new Uuid(1, 1), [new BrokerEndpoint("PLAINTEXT", "localhost", 9092, 0)]), CancellationToken.None)).ErrorCode);
            var epoch = active.Image.Brokers[1].Epoch;
            Assert.False((await active.BrokerHeartbeatAsync(1, epoch, active.Image.Offset, false, false, CancellationToken.None)).IsFenced);
            Assert.Equal(ErrorCode.None, Assert.Single(await active.CreateTopicsAsync([new CreatableTopic("before", 3, 1)], CancellationToken.None)).ErrorCode);

            // Every voter's image follows the committed log.
            foreach (var node in nodes.Values)
            {
                await WaitUntil(() => node.Controller.Image.TopicsByName.ContainsKey("before"));
            }

            var activeId = nodes.Single(n => n.Value.Controller == active).Key;
            var standby = nodes.First(n => n.Key != activeId).Value.Controller;
            Assert.Equal(ErrorCode.NotController, Assert.Single(await standby.CreateTopicsAsync([new CreatableTopic("nope", 1, 1)], CancellationToken.None)).ErrorCode);

            await nodes[activeId].Controller.DisposeAsync();
            await nodes[activeId].Quorum.DisposeAsync();
            nodes.Remove(activeId);

            var stopwatch = Stopwatch.StartNew();
            var successor = await WaitForActive(nodes.Values.Select(n => n.Controller));
            CreateTopicResult created;
            do
            {
                created = Assert.Single(await successor.CreateTopicsAsync([new CreatableTopic("after", 2, 1)], CancellationToken.None));
            }
            while (created.ErrorCode == ErrorCode.NotController && stopwatch.Elapsed < TimeSpan.FromSeconds(10));

            Assert.Equal(ErrorCode.None, created.ErrorCode);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"failover took {stopwatch.Elapsed}");

            // The new controller decided on the whole log: the old topic is known, so it is not created twice.
            Assert.Equal(ErrorCode.TopicAlreadyExists, Assert.Single(await successor.CreateTopicsAsync([new CreatableTopic("before", 1, 1)], CancellationToken.None)).ErrorCode);
            foreach (var node in nodes.Values)
            {
                await WaitUntil(() => node.Controller.Image.TopicsByName.ContainsKey("after"));
                Assert.Equal(["after", "before"], node.Controller.Image.TopicsByName.Keys);
            }
        }
        finally
        {
            foreach (var node in nodes.Values)
            {
                await node.Controller.DisposeAsync();
                await node.Quorum.DisposeAsync();
            }
        }
    }

    private static async Task<QuorumController> WaitForActive(IEnumerable<QuorumController> controllers)
    {
        QuorumController? active = null;
        await WaitUntil(() => (active = controllers.FirstOrDefault(c => c.IsActive)) is not null);
        return active!;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), "condition not reached in time");
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
