using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Gregor.TestKit;

/// <summary>Confluent.Kafka clients configured for tests against an in-process broker.</summary>
public static class Clients
{
    public static ProducerConfig ProducerConfig(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        Acks = Acks.All,
        LingerMs = 5,
        // Tests must fail fast, not retry for the default five minutes.
        MessageTimeoutMs = 30_000,
        SocketTimeoutMs = 10_000,
        BrokerAddressFamily = BrokerAddressFamily.V4,
    };

    /// <summary>
    /// A consumer config. Confluent.Kafka insists on a group id even for consumers that are only
    /// assigned partitions; those get a fresh one that never commits.
    /// </summary>
    public static ConsumerConfig ConsumerConfig(string bootstrapServers, string? groupId = null) => new()
    {
        BootstrapServers = bootstrapServers,
        GroupId = groupId ?? $"assign-only-{Guid.NewGuid():N}",
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        SocketTimeoutMs = 10_000,
        BrokerAddressFamily = BrokerAddressFamily.V4,
    };

    public static IAdminClient Admin(string bootstrapServers) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();

    public static async Task CreateTopicAsync(string bootstrapServers, string topic, int partitions, IDictionary<string, string>? configs = null)
    {
        using var admin = Admin(bootstrapServers);
        await admin.CreateTopicsAsync(
        [
            new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1, Configs = configs is null ? null : new Dictionary<string, string>(configs) },
        ]).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads every record of the given partitions from offset 0 up to each partition's high
    /// watermark at the time of the call, without a consumer group.
    /// </summary>
    public static List<ConsumeResult<byte[]?, byte[]?>> ReadAll(string bootstrapServers, string topic, int partitions, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ConsumerConfig(bootstrapServers)).Build();
        var remaining = new Dictionary<int, long>();
        for (var p = 0; p < partitions; p++)
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            if (watermarks.High.Value > 0)
            {
                remaining[p] = watermarks.High.Value;
            }
        }

        consumer.Assign(remaining.Keys.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        var deadline = DateTime.UtcNow + timeout;
        while (remaining.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Read {results.Count} records; partitions still short: {string.Join(", ", remaining.Select(kv => $"{kv.Key}<{kv.Value}"))}.");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            results.Add(result);
            var p = result.Partition.Value;
            if (remaining.TryGetValue(p, out var high) && result.Offset.Value + 1 >= high)
            {
                remaining.Remove(p);
            }
        }

        consumer.Close();
        return results;
    }
}
