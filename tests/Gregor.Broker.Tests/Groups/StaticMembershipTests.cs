using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>Static members (group.instance.id, KIP-345; KIP-848's static leave) come back to their partitions without a rebalance.</summary>
public class StaticMembershipTests
{
    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task RestartedStaticMemberGetsItsPartitionsBackWithoutDisturbingTheOthers(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides(consumerSessionTimeoutMs: 20_000));
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);

        var revocations = 0;
        var stableConfig = GroupClients.Consumer(broker.BootstrapServers, "static", protocol, sessionTimeoutMs: 20_000);
        stableConfig.GroupInstanceId = "instance-a";
        using var stable = new ConsumerBuilder<string, string>(stableConfig)
            .SetPartitionsRevokedHandler((_, revoked) => Interlocked.Add(ref revocations, revoked.Count))
            .Build();
        var restartingConfig = GroupClients.Consumer(broker.BootstrapServers, "static", protocol, sessionTimeoutMs: 20_000);
        restartingConfig.GroupInstanceId = "instance-b";
        var restarting = GroupClients.Build(restartingConfig);

        // The restarting member joins first, so it leads the group: the harder case, since a
        // restarted leader must not reassign (KIP-345: JoinGroup v9 SkipAssignment).
        restarting.Subscribe("orders");
        GroupClients.PollUntil([restarting], a => a[0].Count == 6, TimeSpan.FromSeconds(30), "the first member owns all 6");
        stable.Subscribe("orders");
        GroupClients.PollUntil([stable, restarting], a => a.All(x => x.Count == 3) && GroupClients.DisjointAndCovering(a, 6), TimeSpan.FromSeconds(30), "3 + 3 partitions");
        var stableOwns = stable.Assignment.Select(tp => tp.Partition.Value).Order().ToList();
        var restartingOwned = restarting.Assignment.Select(tp => tp.Partition.Value).Order().ToList();
        var revokedBefore = Volatile.Read(ref revocations);
        Assert.Equal(0, revokedBefore);

        // A static member's close does not leave the group: its partitions wait for it.
        restarting.Close();
        restarting.Dispose();
        for (var i = 0; i < 10; i++)
        {
            stable.Consume(TimeSpan.FromMilliseconds(100));
        }

        using var restarted = GroupClients.Build(restartingConfig);
        restarted.Subscribe("orders");
        GroupClients.PollUntil([stable, restarted], a => a[1].Count == 3, TimeSpan.FromSeconds(15), "the restarted member is back");
        Assert.Equal(restartingOwned, restarted.Assignment.Select(tp => tp.Partition.Value).Order());

        // Nothing moved for the member that stayed.
        for (var i = 0; i < 10; i++)
        {
            stable.Consume(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(stableOwns, stable.Assignment.Select(tp => tp.Partition.Value).Order());
        Assert.Equal(revokedBefore, Volatile.Read(ref revocations));
    }
}
