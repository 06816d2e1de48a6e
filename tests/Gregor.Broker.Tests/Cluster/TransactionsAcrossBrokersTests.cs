using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Broker.Client;
using Gregor.Broker.Transactions;
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using ErrorCode = Gregor.Protocol.ErrorCode;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>
/// Exactly-once on a real 3-node cluster, where the partitions of a transaction are led by
/// different brokers and the group's coordinator is not the transaction's: AddPartitionsToTxn
/// takes any partition the cluster metadata knows, TxnOffsetCommit at a group coordinator that does
/// not coordinate the transactional id asks the one that does, and the internal topics' leaders are
/// spread over the brokers.
/// </summary>
public sealed class TransactionsAcrossBrokersTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly Dictionary<string, string> Overrides = new()
    {
        ["transaction.state.log.num.partitions"] = "9",
        ["offsets.topic.num.partitions"] = "9",
    };

    [Fact]
    public async Task AddPartitionsToTxnAcceptsPartitionsLedByOtherBrokers()
    {
        const string topic = "txn-spread";
        const string transactionalId = "txn-spread-t";
        await using var cluster = await InProcessCluster.StartAsync(3, Overrides);
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            // One replica each: every broker leads one partition and holds no replica of the others.
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 3, ReplicationFactor = 1 }]);
        }

        await using var pool = new NodeClientPool("txn-spread-test");
        var (coordinator, init) = await InitProducerIdAsync(cluster, pool, transactionalId);
        var leaders = await WaitForLeadersAsync(cluster, topic, 3);
        Assert.Equal(cluster.NodeIds, leaders.Order());

        var response = await pool.SendAsync<AddPartitionsToTxnResponse>(coordinator.Host, coordinator.Port, "t", new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = transactionalId,
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [0, 1, 2] }],
        }, 3, Timeout, CancellationToken.None);
        var results = Assert.Single(response.ResultsByTopicV3AndBelow).ResultsByPartition;
        Assert.Equal([0, 1, 2], results.Select(r => r.PartitionIndex));
        Assert.All(results, r => Assert.Equal((short)ErrorCode.None, r.PartitionErrorCode));

        // A partition that does not exist anywhere is still refused, and holds the rest back.
        var unknown = await pool.SendAsync<AddPartitionsToTxnResponse>(coordinator.Host, coordinator.Port, "t", new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = transactionalId,
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [0, 7] }],
        }, 3, Timeout, CancellationToken.None);
        var byPartition = unknown.ResultsByTopicV3AndBelow[0].ResultsByPartition.ToDictionary(r => r.PartitionIndex, r => (ErrorCode)r.PartitionErrorCode);
        Assert.Equal(ErrorCode.OperationNotAttempted, byPartition[0]);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, byPartition[7]);
    }

    [Fact]
    public async Task InternalTopicLeadersAreSpreadOverTheBrokers()
    {
        // No wait for the brokers: clients arrive the moment the cluster starts, as in a rolling start.
        await using var cluster = await InProcessCluster.StartAsync(3, Overrides);
        await using var pool = new NodeClientPool("internal-spread-test");
        await InitProducerIdAsync(cluster, pool, "internal-spread-t");
        await FindGroupCoordinatorAsync(cluster, pool, "internal-spread-group");

        foreach (var name in new[] { "__transaction_state", "__consumer_offsets" })
        {
            var leaders = await WaitForLeadersAsync(cluster, name, 9);
            var perBroker = leaders.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(perBroker.Count == 3 && perBroker.Values.All(c => c == 3),
                $"{name}: leaders per broker {string.Join(", ", perBroker.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"))}");
        }
    }

    /// <summary>
    /// Consume-transform-produce with Confluent.Kafka where the output partitions are led by all
    /// three brokers and the group's coordinator is a different broker from the transaction's:
    /// SendOffsetsToTransaction and the commit succeed, read_committed sees exactly the output and
    /// the group's committed offset is the input's end.
    /// </summary>
    [Fact]
    public async Task SendOffsetsToTransactionWorksWhenTheGroupAndTransactionCoordinatorsDiffer()
    {
        const string input = "ctp-in";
        const string output = "ctp-out";
        await using var cluster = await InProcessCluster.StartAsync(3, Overrides);
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync(
            [
                new TopicSpecification { Name = input, NumPartitions = 1, ReplicationFactor = 3 },
                new TopicSpecification { Name = output, NumPartitions = 3, ReplicationFactor = 1 },
            ]);
        }

        await using var pool = new NodeClientPool("ctp-test");
        const string transactionalId = "ctp-t";
        var (txnCoordinator, _) = await InitProducerIdAsync(cluster, pool, transactionalId);

        // A group whose __consumer_offsets partition another broker leads.
        await FindGroupCoordinatorAsync(cluster, pool, "ctp-probe");
        var offsetsLeaders = await WaitForLeadersAsync(cluster, "__consumer_offsets", 9);
        var group = Enumerable.Range(0, 1000).Select(i => $"ctp-group-{i}")
            .First(g => offsetsLeaders[GroupPartitioner.PartitionFor(g, 9)] != txnCoordinator.NodeId);

        var producerConfig = Clients.ProducerConfig(cluster.BootstrapServers);
        using (var seed = new ProducerBuilder<Null, string>(producerConfig).Build())
        {
            for (var i = 0; i < 30; i++)
            {
                await seed.ProduceAsync(input, new Message<Null, string> { Value = $"in-{i}" });
            }
        }

        var txnConfig = Clients.ProducerConfig(cluster.BootstrapServers);
        txnConfig.TransactionalId = transactionalId;
        using var producer = new ProducerBuilder<string, string>(txnConfig).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        var consumerConfig = Clients.ConsumerConfig(cluster.BootstrapServers, group);
        consumerConfig.EnableAutoCommit = false;
        consumerConfig.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var consumer = new ConsumerBuilder<Null, string>(consumerConfig).Build();
        consumer.Subscribe(input);
        var consumed = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (consumed < 30 && DateTime.UtcNow < deadline)
        {
            var batch = new List<ConsumeResult<Null, string>>();
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            while (record is not null && batch.Count < 10)
            {
                batch.Add(record);
                record = batch.Count < 10 ? consumer.Consume(TimeSpan.FromMilliseconds(100)) : null;
            }

            if (batch.Count == 0)
            {
                continue;
            }

            producer.BeginTransaction();
            foreach (var r in batch)
            {
                // Keys k0..k2 over three partitions led by three brokers.
                producer.Produce(new TopicPartition(output, new Partition(consumed % 3)), new Message<string, string> { Key = $"k{consumed % 3}", Value = "out-" + r.Message.Value[3..] });
                consumed++;
            }

            producer.SendOffsetsToTransaction([new TopicPartitionOffset(input, 0, batch[^1].Offset + 1)], consumer.ConsumerGroupMetadata, TimeSpan.FromSeconds(30));
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(30, consumed);
        consumer.Close();

        var readConfig = Clients.ConsumerConfig(cluster.BootstrapServers);
        readConfig.IsolationLevel = IsolationLevel.ReadCommitted;
        var values = new List<string>();
        foreach (var partition in new[] { 0, 1, 2 })
        {
            values.AddRange(ReadCommitted(readConfig, output, partition, 10));
        }

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"out-{i}").Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));

        using var admin2 = Clients.Admin(cluster.BootstrapServers);
        var committed = await admin2.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, [new TopicPartition(input, 0)])]);
        Assert.Equal(30, committed[0].Partitions[0].Offset.Value);
    }

    private static List<string> ReadCommitted(ConsumerConfig config, string topic, int partition, int expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, string>(config).Build();
        consumer.Assign(new TopicPartitionOffset(topic, partition, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (values.Count < expected && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { } record)
            {
                values.Add(record.Message.Value);
            }
        }

        // Nothing beyond the expected records (no aborted or duplicate output).
        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(1)));
        return values;
    }

    private static async Task<(FindCoordinatorResponse.Coordinator Coordinator, InitProducerIdResponse Init)> InitProducerIdAsync(
        InProcessCluster cluster, NodeClientPool pool, string transactionalId)
    {
        var (host, port) = HostPort(cluster.RunningServers[0].BootstrapServers);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var found = await pool.SendAsync<FindCoordinatorResponse>(host, port, "t",
                new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] }, 4, Timeout, CancellationToken.None);
            var coordinator = found.Coordinators[0];
            if (coordinator.ErrorCode == (short)ErrorCode.None)
            {
                // Any error must be an answer a client retries on, never a closed connection.
                var init = await pool.SendAsync<InitProducerIdResponse>(coordinator.Host, coordinator.Port, "t",
                    new InitProducerIdRequest { TransactionalId = transactionalId, TransactionTimeoutMs = 60_000 }, 4, Timeout, CancellationToken.None);
                if (init.ErrorCode == (short)ErrorCode.None)
                {
                    return (coordinator, init);
                }

                Assert.Contains((ErrorCode)init.ErrorCode, new[] { ErrorCode.CoordinatorLoadInProgress, ErrorCode.NotCoordinator, ErrorCode.CoordinatorNotAvailable, ErrorCode.ConcurrentTransactions });
            }

            Assert.True(DateTime.UtcNow < deadline, $"no transaction coordinator for {transactionalId}: {(ErrorCode)coordinator.ErrorCode}");
            await Task.Delay(100);
        }
    }

    private static async Task FindGroupCoordinatorAsync(InProcessCluster cluster, NodeClientPool pool, string group)
    {
        var (host, port) = HostPort(cluster.RunningServers[0].BootstrapServers);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var found = await pool.SendAsync<FindCoordinatorResponse>(host, port, "t",
                new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [group] }, 4, Timeout, CancellationToken.None);
            if (found.Coordinators[0].ErrorCode == (short)ErrorCode.None)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no group coordinator for {group}");
            await Task.Delay(100);
        }
    }

    /// <summary>Each partition's leader once every partition of the topic has one, as the first broker sees it.</summary>
    private static async Task<int[]> WaitForLeadersAsync(InProcessCluster cluster, string topic, int partitions)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (cluster.RunningServers[0].Metadata.TryGetTopic(topic, out var metadata) && metadata.Partitions.Count == partitions
                && metadata.Partitions.All(p => p.LeaderId >= 0))
            {
                return [.. metadata.Partitions.OrderBy(p => p.PartitionIndex).Select(p => p.LeaderId)];
            }

            Assert.True(DateTime.UtcNow < deadline, $"{topic} has no leader for each of its {partitions} partitions");
            await Task.Delay(50);
        }
    }

    private static (string Host, int Port) HostPort(string bootstrap)
    {
        var first = bootstrap.Split(',')[0];
        var colon = first.LastIndexOf(':');
        return (first[..colon], int.Parse(first[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
