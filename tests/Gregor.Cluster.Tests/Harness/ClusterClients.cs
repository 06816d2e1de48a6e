using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Gregor.Cluster.Tests.Harness;

/// <summary>A partition as DescribeTopics reports it.</summary>
public sealed record PartitionState(int Partition, int Leader, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr)
{
    public override string ToString() => $"p{Partition} leader {Leader} replicas [{string.Join(',', Replicas)}] isr [{string.Join(',', Isr)}]";
}

/// <summary>Confluent.Kafka clients and admin queries against a multi-process cluster.</summary>
public static class ClusterClients
{
    public static IAdminClient Admin(string bootstrapServers) => new AdminClientBuilder(new AdminClientConfig
    {
        BootstrapServers = bootstrapServers,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        SocketTimeoutMs = 5_000,
        // A killed broker should not hold up the admin client for long.
        ReconnectBackoffMaxMs = 1_000,
    }).SetLogHandler(Quiet).Build();

    /// <summary>A producer whose connection-refused chatter (brokers are killed on purpose) stays out of the test output.</summary>
    public static IProducer<Null, string> Producer(ProducerConfig config) => new ProducerBuilder<Null, string>(config).SetLogHandler(Quiet).Build();

    public static IConsumer<Ignore, string> Consumer(string bootstrapServers) => new ConsumerBuilder<Ignore, string>(ConsumerConfig(bootstrapServers)).SetLogHandler(Quiet).Build();

    private static void Quiet<T>(T client, LogMessage message)
    {
    }

    public static ConsumerConfig ConsumerConfig(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        GroupId = $"assign-only-{Guid.NewGuid():N}",
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnablePartitionEof = true,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        SocketTimeoutMs = 5_000,
        TopicMetadataRefreshIntervalMs = 1_000,
        ReconnectBackoffMaxMs = 1_000,
    };

    public static async Task CreateTopicAsync(string bootstrapServers, string topic, int partitions, short replicationFactor, IDictionary<string, string>? configs = null, TimeSpan? timeout = null)
    {
        using var admin = Admin(bootstrapServers);
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor, Configs = configs is null ? null : new Dictionary<string, string>(configs) }],
            new CreateTopicsOptions { RequestTimeout = timeout ?? TimeSpan.FromSeconds(15) }).ConfigureAwait(false);
    }

    public static async Task CreateTopicAsync(string bootstrapServers, string topic, IReadOnlyList<IReadOnlyList<int>> assignment, IDictionary<string, string>? configs = null)
    {
        using var admin = Admin(bootstrapServers);
        var replicas = new Dictionary<int, List<int>>();
        for (var p = 0; p < assignment.Count; p++)
        {
            replicas[p] = [.. assignment[p]];
        }

        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = assignment.Count, ReplicationFactor = -1, ReplicasAssignments = replicas, Configs = configs is null ? null : new Dictionary<string, string>(configs) }],
            new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(15) }).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<PartitionState>> DescribeAsync(string bootstrapServers, string topic)
    {
        using var admin = Admin(bootstrapServers);
        var result = await admin.DescribeTopicsAsync(
            TopicCollection.OfTopicNames([topic]),
            new DescribeTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(5) }).ConfigureAwait(false);
        var description = result.TopicDescriptions.Single();
        if (description.Error.IsError)
        {
            throw new KafkaException(description.Error);
        }

        return [.. description.Partitions
            .Select(p => new PartitionState(p.Partition, p.Leader?.Id ?? -1, [.. p.Replicas.Select(r => r.Id)], [.. p.ISR.Select(r => r.Id)]))
            .OrderBy(p => p.Partition)];
    }

    /// <summary>
    /// Polls DescribeTopics (through whichever listed brokers answer) until <paramref name="condition"/>
    /// holds for the topic's partitions; the timeout message shows the last state seen.
    /// </summary>
    public static async Task<IReadOnlyList<PartitionState>> WaitForPartitionsAsync(
        string bootstrapServers, string topic, Func<IReadOnlyList<PartitionState>, bool> condition, TimeSpan timeout, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        string last = "(no answer)";
        while (true)
        {
            try
            {
                var partitions = await DescribeAsync(bootstrapServers, topic).ConfigureAwait(false);
                last = string.Join("; ", partitions);
                if (partitions.Count > 0 && condition(partitions))
                {
                    return partitions;
                }
            }
            catch (KafkaException e)
            {
                last = $"DescribeTopics failed: {e.Error.Code} {e.Message}";
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"{topic}: not {what} within {timeout.TotalSeconds:F0} s; last seen: {last}");
            }

            await Task.Delay(300).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every partition has a leader and an ISR of all <paramref name="replicas"/>.</summary>
    public static Task<IReadOnlyList<PartitionState>> WaitForFullIsrAsync(string bootstrapServers, string topic, int replicas, TimeSpan timeout) =>
        WaitForPartitionsAsync(bootstrapServers, topic, ps => ps.All(p => p.Leader >= 0 && p.Isr.Count == replicas), timeout, $"fully replicated (ISR of {replicas})");

    /// <summary>The node DescribeCluster names as the controller (-1 when none answers).</summary>
    public static async Task<int> ControllerAsync(string bootstrapServers)
    {
        using var admin = Admin(bootstrapServers);
        var result = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = TimeSpan.FromSeconds(5) }).ConfigureAwait(false);
        return result.Controller?.Id ?? -1;
    }

    /// <summary>
    /// librdkafka's QueryWatermarkOffsets does not retry: just after a leader change its cached
    /// metadata may still name the old leader (NOT_LEADER_OR_FOLLOWER); ask again, as a client would.
    /// </summary>
    private static long QueryHighWatermark(IConsumer<Ignore, string> consumer, TopicPartition tp)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
            }
            catch (KafkaException e) when (e.Error.Code is ErrorCode.NotLeaderForPartition or ErrorCode.LeaderNotAvailable
                or ErrorCode.UnknownTopicOrPart or ErrorCode.Local_TimedOut or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch
                && stopwatch.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(500);
            }
        }
    }

    /// <summary>
    /// Reads one partition from offset 0 to its high watermark (as the leader reports it now),
    /// returning offset → value.
    /// </summary>
    public static SortedDictionary<long, string> ReadPartition(string bootstrapServers, string topic, int partition, TimeSpan timeout)
    {
        using var consumer = Consumer(bootstrapServers);
        var tp = new TopicPartition(topic, partition);
        var high = QueryHighWatermark(consumer, tp);
        var records = new SortedDictionary<long, string>();
        if (high <= 0)
        {
            return records;
        }

        consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"{tp}: read {records.Count} records up to offset {(records.Count == 0 ? -1 : records.Keys.Max())}, high watermark {high}");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                if (result.Offset.Value >= high)
                {
                    break;
                }

                continue;
            }

            records[result.Offset.Value] = result.Message.Value;
        }

        return records;
    }
}
