using System.Diagnostics;
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
        await using var cluster = new RaftTestCluster(dir.Path);
        var controllers = cluster.Quorums.ToDictionary(q => q.Key, q => new QuorumController(q.Value, new QuorumControllerOptions(), TimeProvider.System));
        try
        {
            await cluster.StartAsync();
            Assert.Equal(ErrorCode.None, (await OnActive(controllers, c => c.RegisterBrokerAsync(
                new BrokerRegistrationRequestData(1, new Uuid(1, 1), [new BrokerEndpoint("PLAINTEXT", "localhost", 9092, 0)]), CancellationToken.None),
                r => r.ErrorCode)).ErrorCode);
            var heartbeat = await OnActive(controllers, c => c.BrokerHeartbeatAsync(1, c.Image.Brokers[1].Epoch, c.Image.Offset, false, false, CancellationToken.None), r => r.ErrorCode);
            Assert.False(heartbeat.IsFenced);
            var before = await OnActive(controllers, c => c.CreateTopicsAsync([new CreatableTopic("before", 3, 1)], CancellationToken.None), r => r[0].ErrorCode);
            Assert.Equal(ErrorCode.None, before[0].ErrorCode);

            // Every voter's image follows the committed log.
            foreach (var controller in controllers.Values)
            {
                await RaftTestCluster.WaitUntil(() => controller.Image.TopicsByName.ContainsKey("before"));
            }

            var standby = controllers.Values.FirstOrDefault(c => !c.IsActive);
            if (standby is not null && !standby.IsActive)
            {
                var refused = Assert.Single(await standby.CreateTopicsAsync([new CreatableTopic("nope", 1, 1)], CancellationToken.None));
                Assert.True(refused.ErrorCode == ErrorCode.NotController || standby.IsActive, $"a standby answered {refused.ErrorCode}");
            }

            var activeId = controllers.First(c => c.Value.IsActive).Key;
            await controllers[activeId].DisposeAsync();
            controllers.Remove(activeId);
            await cluster.KillAsync(activeId);

            var stopwatch = Stopwatch.StartNew();
            var after = await OnActive(controllers, c => c.CreateTopicsAsync([new CreatableTopic("after", 2, 1)], CancellationToken.None), r => r[0].ErrorCode);
            Assert.Equal(ErrorCode.None, after[0].ErrorCode);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"failover took {stopwatch.Elapsed}");

            // The new controller decided on the whole log: the old topic is known, so it is not created twice.
            var again = await OnActive(controllers, c => c.CreateTopicsAsync([new CreatableTopic("before", 1, 1)], CancellationToken.None), r => r[0].ErrorCode);
            Assert.Equal(ErrorCode.TopicAlreadyExists, again[0].ErrorCode);
            foreach (var controller in controllers.Values)
            {
                await RaftTestCluster.WaitUntil(() => controller.Image.TopicsByName.ContainsKey("after"));
                Assert.Equal(["after", "before"], controller.Image.TopicsByName.Keys);
            }
        }
        finally
        {
            foreach (var controller in controllers.Values)
            {
                await controller.DisposeAsync();
            }
        }
    }

    /// <summary>Runs an operation on whichever controller is active, again while the answer is NOT_CONTROLLER.</summary>
    private static async Task<T> OnActive<T>(Dictionary<int, QuorumController> controllers, Func<QuorumController, Task<T>> operation, Func<T, ErrorCode> errorOf)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (controllers.Values.FirstOrDefault(c => c.IsActive) is { } active)
            {
                var result = await operation(active);
                if (errorOf(result) != ErrorCode.NotController)
                {
                    return result;
                }
            }

            Assert.True(stopwatch.Elapsed < RaftTestCluster.Patience, "no active controller answered in time");
            await Task.Delay(50);
        }
    }
}
