using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>Consumer groups as librdkafka drives them, with the classic protocol and with KIP-848's.</summary>
public class GroupMembershipTests
{
    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task ThreeConsumersOnSixPartitionsOwnTwoEachDisjointAndCovering(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "orders", 6);
        var consumers = Enumerable.Range(0, 3).Select(_ => GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "three", protocol))).ToList();
        try
        {
            foreach (var c in consumers)
            {
                c.Subscribe("orders");
            }

            GroupClients.PollUntil(consumers, a => a.All(x => x.Count == 2) && GroupClients.DisjointAndCovering(a, 6), TimeSpan.FromSeconds(30), "3 x 2 partitions");
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
}
