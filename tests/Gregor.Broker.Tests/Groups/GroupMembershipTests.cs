using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>Consumer groups as librdkafka drives them, with the classic protocol and with KIP-848's.</summary>
public class GroupMembershipTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task ThreeConsumersOnSixPartitionsOwnTwoEachDisjointAndCovering(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);
        using var consumers = new ConsumerSet(Enumerable.Range(0, 3).Select(_ => GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "three", protocol))));
        consumers.Subscribe("orders");
        GroupClients.PollUntil(consumers.All, a => a.All(x => x.Count == 2) && GroupClients.DisjointAndCovering(a, 6), Settle, "3 x 2 partitions");
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task SevenConsumersOnSixPartitionsLeaveExactlyOneIdle(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);
        using var consumers = new ConsumerSet(Enumerable.Range(0, 7).Select(_ => GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "seven", protocol))));
        consumers.Subscribe("orders");
        GroupClients.PollUntil(consumers.All, a => a.Count(x => x.Count == 0) == 1 && a.All(x => x.Count <= 1) && GroupClients.DisjointAndCovering(a, 6), Settle, "6 x 1 partition + 1 idle");
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task ConsumerThatStopsHeartbeatingLosesItsPartitionsAfterTheSessionTimeout(GroupProtocolKind protocol)
    {
        await using var proxy = new FreezingProxy();
        var overrides = GroupClients.BrokerOverrides(consumerSessionTimeoutMs: 3000);
        overrides["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{proxy.Port}";
        await using var broker = await InProcessBroker.StartAsync(overrides);
        proxy.Target = broker.Server.BoundEndpoints[0];
        proxy.Start();
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);

        using var survivor = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "takeover", protocol, "survivor", sessionTimeoutMs: 3000));
        using var victim = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "takeover", protocol, "victim", sessionTimeoutMs: 3000));
        survivor.Subscribe("orders");
        victim.Subscribe("orders");
        GroupClients.PollUntil([survivor, victim], a => a.All(x => x.Count == 3) && GroupClients.DisjointAndCovering(a, 6), Settle, "3 + 3 partitions");

        // The victim's requests stop reaching the broker; it never leaves, it just goes silent.
        proxy.Freeze("victim");
        var frozenAt = DateTime.UtcNow;
        GroupClients.PollUntil([survivor], a => a[0].Count == 6, Settle, "survivor takes all 6");
        Assert.True(DateTime.UtcNow - frozenAt >= TimeSpan.FromSeconds(2), "the partitions moved before the session timeout could expire");
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task ClosedConsumerTriggersAnImmediateRebalance(GroupProtocolKind protocol)
    {
        // Sessions of 30 s: only the leave can explain a fast takeover.
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides(consumerSessionTimeoutMs: 30_000));
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);
        using var stays = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "close", protocol, sessionTimeoutMs: 30_000));
        var leaves = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "close", protocol, sessionTimeoutMs: 30_000));
        stays.Subscribe("orders");
        leaves.Subscribe("orders");
        GroupClients.PollUntil([stays, leaves], a => a.All(x => x.Count == 3) && GroupClients.DisjointAndCovering(a, 6), Settle, "3 + 3 partitions");

        leaves.Close();
        leaves.Dispose();
        var closedAt = DateTime.UtcNow;
        GroupClients.PollUntil([stays], a => a[0].Count == 6, TimeSpan.FromSeconds(15), "the remaining consumer takes all 6");
        Assert.True(DateTime.UtcNow - closedAt < TimeSpan.FromSeconds(15));
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task RegexSubscriptionConsumesEveryMatchingTopic(GroupProtocolKind protocol)
    {
        // Classic: librdkafka matches the regex itself; KIP-848: the broker does (SubscribedTopicRegex).
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "metrics-cpu", 2);
        await Clients.CreateTopicAsync(broker.BootstrapServers, "metrics-disk", 3);
        await Clients.CreateTopicAsync(broker.BootstrapServers, "logs", 2);
        using var consumer = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "regex", protocol));
        consumer.Subscribe("^metrics-.*");
        GroupClients.PollUntil([consumer], a => a[0].Count == 5, Settle, "the 5 partitions of metrics-*");
        Assert.Equal(["metrics-cpu", "metrics-disk"], consumer.Assignment.Select(tp => tp.Topic).Distinct().Order());
        consumer.Close();
    }

    [Fact]
    public async Task CooperativeStickyRebalancesMoveOnlyThePartitionsThatChangeOwner()
    {
        // Incremental cooperative rebalancing (KIP-429) is driven by the client over the classic
        // protocol: a joining member takes partitions without the others giving up the rest.
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);
        var revoked = new List<int>();
        var firstConfig = GroupClients.Consumer(broker.BootstrapServers, "cooperative", GroupProtocolKind.Classic);
        firstConfig.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
        using var first = new ConsumerBuilder<string, string>(firstConfig)
            .SetPartitionsRevokedHandler((_, partitions) => { lock (revoked) { revoked.AddRange(partitions.Select(p => p.Partition.Value)); } })
            .Build();
        first.Subscribe("orders");
        GroupClients.PollUntil([first], a => a[0].Count == 6, Settle, "the first member owns all 6");

        var secondConfig = GroupClients.Consumer(broker.BootstrapServers, "cooperative", GroupProtocolKind.Classic);
        secondConfig.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;
        using var second = GroupClients.Build(secondConfig);
        second.Subscribe("orders");
        GroupClients.PollUntil([first, second], a => a.All(x => x.Count == 3) && GroupClients.DisjointAndCovering(a, 6), Settle, "3 + 3 partitions");

        // Only the three partitions that moved were revoked from the first member; it kept the rest throughout.
        lock (revoked)
        {
            Assert.Equal(3, revoked.Count);
            Assert.Empty(revoked.Intersect(first.Assignment.Select(tp => tp.Partition.Value)));
        }

        second.Close();
        first.Close();
    }

    /// <summary>Consumers closed (leaving their group) and disposed together.</summary>
    private sealed class ConsumerSet(IEnumerable<IConsumer<string, string>> consumers) : IDisposable
    {
        public List<IConsumer<string, string>> All { get; } = [.. consumers];

        public void Subscribe(string topic)
        {
            foreach (var c in All)
            {
                c.Subscribe(topic);
            }
        }

        public void Dispose()
        {
            foreach (var c in All)
            {
                c.Close();
                c.Dispose();
            }
        }
    }
}
