using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.Broker.Transactions;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>
/// The transaction coordinator moves with the leadership of its <c>__transaction_state</c>
/// partition: after the coordinating broker dies, the new leader loads the transactional id's
/// state, so a new producer instance fences the old one and the transaction it left open is
/// aborted instead of holding the last stable offset back forever.
/// </summary>
public sealed class TransactionFailoverTests
{
    [Fact]
    public async Task ANewCoordinatorAbortsTheTransactionTheDeadOneLeftOpen()
    {
        const string topic = "txn-failover";
        const string transactionalId = "txn-failover-id";
        await using var cluster = await InProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["transaction.state.log.num.partitions"] = "3",
            ["offsets.topic.num.partitions"] = "3",
            ["broker.session.timeout.ms"] = "3000",
        });
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        }

        var config = Clients.ProducerConfig(cluster.BootstrapServers);
        config.TransactionalId = transactionalId;
        config.TransactionTimeoutMs = 60_000;
        var first = new ProducerBuilder<Null, string>(config).Build();
        first.InitTransactions(TimeSpan.FromSeconds(30));
        first.BeginTransaction();
        for (var i = 0; i < 10; i++)
        {
            await first.ProduceAsync(topic, new Message<Null, string> { Value = $"committed-{i}" });
        }

        first.CommitTransaction(TimeSpan.FromSeconds(30));
        first.BeginTransaction();
        for (var i = 0; i < 5; i++)
        {
            await first.ProduceAsync(topic, new Message<Null, string> { Value = $"open-{i}" });
        }

        // The coordinator is the leader of the transactional id's __transaction_state partition.
        var statePartition = ReplicaTransactionStateLog.PartitionFor(transactionalId, 3);
        var coordinator = cluster.RunningServers[0].Metadata.TryGetTopic("__transaction_state", out var state)
            ? state.Partitions[statePartition].LeaderId
            : throw new InvalidOperationException("__transaction_state does not exist");
        await cluster.KillNodeAsync(coordinator);
        var survivors = string.Join(",", cluster.RunningServers.Select(s => s.BootstrapServers));

        var secondConfig = Clients.ProducerConfig(survivors);
        secondConfig.TransactionalId = transactionalId;
        using (var second = new ProducerBuilder<Null, string>(secondConfig).Build())
        {
            second.InitTransactions(TimeSpan.FromSeconds(60));
            second.BeginTransaction();
            for (var i = 0; i < 5; i++)
            {
                await second.ProduceAsync(topic, new Message<Null, string> { Value = $"after-{i}" });
            }

            second.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        // The fenced first instance is abandoned (closing it would wait on its dead coordinator).
        _ = Task.Run(first.Dispose);

        var consumerConfig = Clients.ConsumerConfig(survivors);
        consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
        consumerConfig.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<Null, string>(consumerConfig).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record is null)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                if (values.Count >= 15)
                {
                    break;
                }

                continue;
            }

            values.Add(record.Message.Value);
        }

        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"committed-{i}"), .. Enumerable.Range(0, 5).Select(i => $"after-{i}")], values);
    }
}
