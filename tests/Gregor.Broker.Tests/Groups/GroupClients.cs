using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>The two group protocols librdkafka 2.16 speaks: classic (JoinGroup/SyncGroup) and KIP-848's.</summary>
public enum GroupProtocolKind
{
    Classic,
    Consumer,
}

/// <summary>Broker overrides and consumer configs that keep group tests fast.</summary>
internal static class GroupClients
{
    /// <summary>Short timeouts: a classic member's session can be 2 s, a KIP-848 member heartbeats every 300 ms.</summary>
    public static Dictionary<string, string> BrokerOverrides(int consumerSessionTimeoutMs = 6000) => new()
    {
        ["group.min.session.timeout.ms"] = "1000",
        ["group.consumer.heartbeat.interval.ms"] = "300",
        ["group.consumer.session.timeout.ms"] = consumerSessionTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["offsets.topic.num.partitions"] = "5",
    };

    public static ConsumerConfig Consumer(string bootstrapServers, string groupId, GroupProtocolKind protocol, string? clientId = null, int sessionTimeoutMs = 6000)
    {
        var config = Clients.ConsumerConfig(bootstrapServers, groupId);
        config.ClientId = clientId ?? "gregor-test";
        config.EnablePartitionEof = false;
        if (protocol == GroupProtocolKind.Consumer)
        {
            // KIP-848: the broker assigns; session and heartbeat come from the broker's configs.
            config.Set("group.protocol", "consumer");
        }
        else
        {
            config.SessionTimeoutMs = sessionTimeoutMs;
            config.HeartbeatIntervalMs = Math.Min(500, sessionTimeoutMs / 3);
            config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        }

        return config;
    }

    public static IConsumer<string, string> Build(ConsumerConfig config) => new ConsumerBuilder<string, string>(config).Build();

    public static async Task ProduceAsync(string bootstrapServers, string topic, int partitions, int perPartition, string prefix = "v")
    {
        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(bootstrapServers)).Build();
        for (var p = 0; p < partitions; p++)
        {
            for (var i = 0; i < perPartition; i++)
            {
                producer.Produce(new TopicPartition(topic, p), new Message<string, string> { Key = $"k{i}", Value = $"{prefix}-{p}-{i}" });
            }
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Polls every consumer until <paramref name="done"/> holds for their assignments, or fails after the timeout.</summary>
    public static void PollUntil(IReadOnlyList<IConsumer<string, string>> consumers, Func<IReadOnlyList<List<TopicPartition>>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var c in consumers)
            {
                c.Consume(TimeSpan.FromMilliseconds(50));
            }

            var assignments = consumers.Select(c => c.Assignment).ToList();
            if (done(assignments))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: assignments were {string.Join(" | ", assignments.Select(a => string.Join(",", a.Select(tp => tp.Partition.Value).Order())))}");
            }
        }
    }

    public static bool DisjointAndCovering(IReadOnlyList<List<TopicPartition>> assignments, int partitions) =>
        assignments.Sum(a => a.Count) == partitions && assignments.SelectMany(a => a).Select(tp => tp.Partition.Value).Distinct().Count() == partitions;

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
