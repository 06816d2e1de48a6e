using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>librdkafka's transactional producer and read_committed consumers against Gregor.</summary>
public class TransactionTests
{
    private static ProducerConfig TransactionalConfig(string bootstrap, string transactionalId, int timeoutMs = 60_000)
    {
        var config = Clients.ProducerConfig(bootstrap);
        config.TransactionalId = transactionalId;
        config.TransactionTimeoutMs = timeoutMs;
        // librdkafka requires socket.timeout.ms and message.timeout.ms within transaction.timeout.ms.
        config.SocketTimeoutMs = Math.Min(config.SocketTimeoutMs ?? 60_000, timeoutMs);
        config.MessageTimeoutMs = Math.Min(config.MessageTimeoutMs ?? 300_000, timeoutMs);
        return config;
    }

    private static List<string> Read(string bootstrap, string topic, IsolationLevel isolation, int expected = -1)
    {
        var config = Clients.ConsumerConfig(bootstrap);
        config.IsolationLevel = isolation;
        using var consumer = new ConsumerBuilder<string, string>(config).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(expected == 0 ? 3 : 15);
        while (DateTime.UtcNow < deadline && (expected < 0 || values.Count < expected))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                if (expected < 0 && values.Count > 0)
                {
                    break;
                }

                continue;
            }

            if (result.IsPartitionEOF)
            {
                break;
            }

            values.Add(result.Message.Value);
        }

        return values;
    }

    private static void Produce(IProducer<string, string> producer, string topic, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            producer.Produce(topic, new Message<string, string> { Key = "k", Value = $"{prefix}{i}" });
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task CommittedRecordsAreVisibleToReadCommittedAndAbortedOnesOnlyToReadUncommitted()
    {
        const string topic = "txn-commit-abort";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        using (var producer = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-a")).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(20));
            producer.BeginTransaction();
            Produce(producer, topic, "committed-", 10);
            producer.CommitTransaction(TimeSpan.FromSeconds(20));

            producer.BeginTransaction();
            Produce(producer, topic, "aborted-", 5);
            producer.AbortTransaction(TimeSpan.FromSeconds(20));

            producer.BeginTransaction();
            Produce(producer, topic, "again-", 3);
            producer.CommitTransaction(TimeSpan.FromSeconds(20));
        }

        // 10 + marker + 5 + marker + 3 + marker.
        var log = broker.Server.LogManager.GetLog(topic, 0)!;
        Assert.Equal(21, log.LogEndOffset);
        Assert.Equal(-1, log.FirstUnstableOffset);
        var aborted = Assert.Single(log.CollectAbortedTransactions(0, long.MaxValue));
        Assert.Equal(11, aborted.FirstOffset);
        Assert.Equal(16, aborted.LastOffset);

        var committed = Read(broker.BootstrapServers, topic, IsolationLevel.ReadCommitted, 13);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"committed-{i}").Concat(Enumerable.Range(0, 3).Select(i => $"again-{i}")), committed);
        var uncommitted = Read(broker.BootstrapServers, topic, IsolationLevel.ReadUncommitted, 18);
        Assert.Equal(18, uncommitted.Count);
        Assert.Contains("aborted-4", uncommitted);
    }

    [Fact]
    public async Task AnOpenTransactionHoldsTheLastStableOffsetAndAZombieIsFenced()
    {
        const string topic = "txn-zombie";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        using var zombie = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-z")).Build();
        zombie.InitTransactions(TimeSpan.FromSeconds(20));
        zombie.BeginTransaction();
        Produce(zombie, topic, "zombie-", 4);

        // ListOffsets(latest) answers the high watermark to read_uncommitted and the last stable offset to read_committed.
        foreach (var (isolation, expected) in new[] { (IsolationLevel.ReadUncommitted, 4L), (IsolationLevel.ReadCommitted, 0L) })
        {
            var config = Clients.ConsumerConfig(broker.BootstrapServers);
            config.IsolationLevel = isolation;
            using var watermarks = new ConsumerBuilder<string, string>(config).Build();
            Assert.Equal(expected, watermarks.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value);
        }

        Assert.Equal(0, broker.Server.LogManager.GetLog(topic, 0)!.FirstUnstableOffset);
        Assert.Empty(Read(broker.BootstrapServers, topic, IsolationLevel.ReadCommitted, 0));

        // A new instance with the same transactional id aborts the zombie's transaction and fences it.
        using var successor = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-z")).Build();
        successor.InitTransactions(TimeSpan.FromSeconds(20));
        successor.BeginTransaction();
        Produce(successor, topic, "successor-", 2);
        successor.CommitTransaction(TimeSpan.FromSeconds(20));

        var error = Assert.Throws<KafkaException>(() => zombie.CommitTransaction(TimeSpan.FromSeconds(20)));
        Assert.True(error.Error.IsFatal || error.Error.Code is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch, error.Error.ToString());

        Assert.Equal(["successor-0", "successor-1"], Read(broker.BootstrapServers, topic, IsolationLevel.ReadCommitted, 2));
    }

    [Fact]
    public async Task ATransactionOpenPastItsTimeoutIsAbortedByTheCoordinator()
    {
        const string topic = "txn-timeout";
        await using var broker = await InProcessBroker.StartAsync(new Dictionary<string, string>
        {
            ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "200",
        });
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        using var producer = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-t", timeoutMs: 2_000)).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(20));
        producer.BeginTransaction();
        Produce(producer, topic, "late-", 3);

        var log = broker.Server.LogManager.GetLog(topic, 0)!;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (log.FirstUnstableOffset >= 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(-1, log.FirstUnstableOffset);
        Assert.Equal(4, log.LogEndOffset);
        Assert.Single(log.CollectAbortedTransactions(0, long.MaxValue));
        Assert.Throws<KafkaException>(() => producer.CommitTransaction(TimeSpan.FromSeconds(20)));
        Assert.Empty(Read(broker.BootstrapServers, topic, IsolationLevel.ReadCommitted, 0));
        Assert.Equal(3, Read(broker.BootstrapServers, topic, IsolationLevel.ReadUncommitted, 3).Count);
    }

    /// <summary>
    /// As in Kafka, a transaction open when the broker restarts stays open (its producer could still
    /// commit it) and holds the last stable offset, so nothing of it is visible to read_committed;
    /// the next instance of the transactional id aborts it and fences the old producer.
    /// </summary>
    [Fact]
    public async Task ABrokerRestartInTheMiddleOfATransactionKeepsItOpenUntilTheNextInstanceAbortsIt()
    {
        const string topic = "txn-restart";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);
        using (var producer = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-r")).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(20));
            producer.BeginTransaction();
            Produce(producer, topic, "committed-", 2);
            producer.CommitTransaction(TimeSpan.FromSeconds(20));
            producer.BeginTransaction();
            Produce(producer, topic, "open-", 3);
            await broker.RestartAsync();
        }

        async Task<Gregor.Protocol.Messages.DescribeTransactionsResponse.TransactionStateData> Describe()
        {
            await using var client = await Handlers.WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
            var described = await client.SendAsync<Gregor.Protocol.Messages.DescribeTransactionsResponse>(
                new Gregor.Protocol.Messages.DescribeTransactionsRequest { TransactionalIds = ["txn-r"] }, 0);
            var state = Assert.Single(described.TransactionStates);
            Assert.Equal(0, state.ErrorCode);
            return state;
        }

        // The coordinator's state came back from __transaction_state, the transaction still open.
        var open = await Describe();
        Assert.Equal("Ongoing", open.TransactionState);
        Assert.Equal(0, open.ProducerEpoch);
        var log = broker.Server.LogManager.GetLog(topic, 0)!;
        Assert.Equal(3, log.FirstUnstableOffset);
        Assert.Equal(["committed-0", "committed-1"], Read(broker.BootstrapServers, topic, IsolationLevel.ReadCommitted, 2));

        using var successor = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-r")).Build();
        successor.InitTransactions(TimeSpan.FromSeconds(20));
        var fenced = await Describe();
        Assert.Equal("Empty", fenced.TransactionState);
        Assert.Equal(2, fenced.ProducerEpoch); // one bump for the abort, one for the new instance

        var stateLog = broker.Server.LogManager.GetLog("__transaction_state", Transactions.ReplicaTransactionStateLog.PartitionFor("txn-r", 50))!;
        Assert.True(stateLog.LogEndOffset >= 7, $"{stateLog.LogEndOffset} records");

        // Nothing of the open transaction became visible to read_committed, and the partition is stable again.
        Assert.Equal(-1, log.FirstUnstableOffset);
        Assert.Equal(7, log.LogEndOffset);
        Assert.Equal(3, Assert.Single(log.CollectAbortedTransactions(0, long.MaxValue)).FirstOffset);
        Assert.Equal(5, Read(broker.BootstrapServers, topic, IsolationLevel.ReadUncommitted, 5).Count);

        successor.BeginTransaction();
        Produce(successor, topic, "after-", 1);
        successor.CommitTransaction(TimeSpan.FromSeconds(20));
        Assert.Equal(["committed-0", "committed-1", "after-0"], Read(broker.BootstrapServers, topic, IsolationLevel.ReadCommitted, 3));
    }

    /// <summary>
    /// KIP-447: offsets sent to a transaction carry the consumer's group generation and member id;
    /// a consumer that has left the group (a zombie) cannot commit through a transaction, while a
    /// live member can.
    /// </summary>
    [Fact]
    public async Task TransactionalOffsetsFromAConsumerThatLeftTheGroupAreFenced()
    {
        const string topic = "txn-offsets-in";
        const string group = "txn-offsets-group";
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);
        using (var plain = new ProducerBuilder<string, string>(Clients.ProducerConfig(broker.BootstrapServers)).Build())
        {
            Produce(plain, topic, "in-", 3);
        }

        IConsumerGroupMetadata SubscribedMember(IConsumer<string, string> consumer)
        {
            consumer.Subscribe(topic);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (consumer.Assignment.Count == 0 && DateTime.UtcNow < deadline)
            {
                consumer.Consume(TimeSpan.FromMilliseconds(200));
            }

            Assert.NotEmpty(consumer.Assignment);
            return consumer.ConsumerGroupMetadata;
        }

        var consumerConfig = Clients.ConsumerConfig(broker.BootstrapServers, group);
        consumerConfig.SessionTimeoutMs = 6_000;
        IConsumerGroupMetadata stale;
        using (var zombie = new ConsumerBuilder<string, string>(consumerConfig).Build())
        {
            stale = SubscribedMember(zombie);
            zombie.Close();
        }

        using var producer = new ProducerBuilder<string, string>(TransactionalConfig(broker.BootstrapServers, "txn-offsets")).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(20));
        producer.BeginTransaction();
        Assert.ThrowsAny<KafkaException>(() =>
            producer.SendOffsetsToTransaction([new TopicPartitionOffset(topic, 0, 2)], stale, TimeSpan.FromSeconds(20)));
        producer.AbortTransaction(TimeSpan.FromSeconds(20));

        using var live = new ConsumerBuilder<string, string>(consumerConfig).Build();
        var current = SubscribedMember(live);
        producer.BeginTransaction();
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(topic, 0, 3)], current, TimeSpan.FromSeconds(20));
        producer.CommitTransaction(TimeSpan.FromSeconds(20));

        var committed = live.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10));
        Assert.Equal(3, committed[0].Offset.Value);
    }
}
