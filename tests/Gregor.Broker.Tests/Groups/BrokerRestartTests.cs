using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>A running group rides through a broker restart: the coordinator reloads it from __consumer_offsets.</summary>
public class BrokerRestartTests
{
    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task LiveGroupKeepsConsumingAcrossABrokerRestart(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides(consumerSessionTimeoutMs: 20_000));
        await Clients.CreateTopicAsync(broker.BootstrapServers, "live", 4);
        var consumers = Enumerable.Range(0, 2).Select(_ => GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "live-group", protocol, sessionTimeoutMs: 20_000))).ToList();
        try
        {
            foreach (var c in consumers)
            {
                c.Subscribe("live");
            }

            GroupClients.PollUntil(consumers, a => a.All(x => x.Count == 2) && GroupClients.DisjointAndCovering(a, 4), TimeSpan.FromSeconds(30), "2 + 2 partitions");
            await GroupClients.ProduceAsync(broker.BootstrapServers, "live", 4, 5, "before");
            var seen = Drain(consumers, 20, commit: true);
            Assert.Equal(20, seen.Count);

            await broker.RestartAsync();

            await GroupClients.ProduceAsync(broker.BootstrapServers, "live", 4, 5, "after");
            var after = Drain(consumers, 20, commit: true);
            Assert.Equal(20, after.Count(v => v.StartsWith("after", StringComparison.Ordinal)));
            Assert.DoesNotContain(after, v => v.StartsWith("before", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var c in consumers)
            {
                c.Close();
                c.Dispose();
            }
        }
    }

    private static List<string> Drain(List<IConsumer<string, string>> consumers, int expected, bool commit)
    {
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (values.Count < expected && DateTime.UtcNow < deadline)
        {
            foreach (var c in consumers)
            {
                var r = c.Consume(TimeSpan.FromMilliseconds(50));
                if (r is not null)
                {
                    values.Add(r.Message.Value);
                    if (commit)
                    {
                        c.Commit(r);
                    }
                }
            }
        }

        return values;
    }
}
