using System.Diagnostics;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// The exactly-once loop (consume, produce the result, SendOffsetsToTransaction, commit) killed at
/// random points and restarted ten times: the output read with read_committed holds every input
/// record's result exactly once, and read_uncommitted shows that the dead instances' open
/// transactions did reach the log.
/// </summary>
public class ConsumeTransformProduceTests(ITestOutputHelper output)
{
    private const string Input = "ctp-input";
    private const string Output = "ctp-output";
    private const string Group = "ctp-group";
    private const string TransactionalId = "ctp-txn";
    private const int Restarts = 10;

    /// <summary>Where an instance dies; chosen per instance by the seeded Random.</summary>
    private enum KillPoint
    {
        /// <summary>Results produced (and flushed), offsets not yet sent.</summary>
        AfterProduce,

        /// <summary>Results and offsets in the transaction, EndTxn never sent.</summary>
        AfterSendOffsets,

        /// <summary>Between transactions: everything so far committed, nothing open.</summary>
        AfterCommit,
    }

    [Fact]
    public async Task EveryInputIsTransformedExactlyOnceAcrossTenRestarts()
    {
        const int count = 200;
        // GREGOR_TEST_SEED=<printed seed> replays a run's kill points.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("GREGOR_TEST_SEED"), out var fixedSeed) ? fixedSeed : Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, Input, 1);
        await Clients.CreateTopicAsync(broker.BootstrapServers, Output, 1);
        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(broker.BootstrapServers)).Build())
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(Input, new Message<string, string> { Key = "k", Value = $"{i}" });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var consumed = 0;
        var abortedResults = 0;
        var watch = Stopwatch.StartNew();
        for (var instance = 0; consumed < count; instance++)
        {
            Assert.True(instance <= Restarts + 2, $"no progress after {instance} instances ({consumed} of {count} consumed)");
            var dies = instance < Restarts;
            // The instance dies in transaction number `fatalBatch` (0-based), at `killPoint`.
            var fatalBatch = random.Next(0, 4);
            var killPoint = (KillPoint)random.Next(0, 3);
            var producerConfig = Clients.ProducerConfig(broker.BootstrapServers);
            producerConfig.TransactionalId = TransactionalId;
            var consumerConfig = Clients.ConsumerConfig(broker.BootstrapServers, Group);
            consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
            using var producer = new ProducerBuilder<string, string>(producerConfig).Build();
            using var consumer = new ConsumerBuilder<string, string>(consumerConfig).Build();
            // Fences the previous instance's producer epoch and aborts its open transaction, if any.
            producer.InitTransactions(TimeSpan.FromSeconds(20));
            consumer.Assign(new TopicPartition(Input, 0));
            var committed = consumer.Committed([new TopicPartition(Input, 0)], TimeSpan.FromSeconds(10));
            var start = committed[0].Offset == Offset.Unset ? 0 : committed[0].Offset.Value;
            Assert.Equal(consumed, start);
            consumer.Seek(new TopicPartitionOffset(Input, 0, start));

            var outcome = "finished";
            for (var batch = 0; consumed < count; batch++)
            {
                producer.BeginTransaction();
                var size = random.Next(1, 11);
                var last = -1L;
                var produced = 0;
                for (var n = 0; n < size; n++)
                {
                    var record = consumer.Consume(TimeSpan.FromSeconds(5));
                    if (record is null || record.IsPartitionEOF)
                    {
                        break;
                    }

                    producer.Produce(Output, new Message<string, string> { Key = "k", Value = $"out-{record.Message.Value}" });
                    last = record.Offset.Value;
                    produced++;
                }

                Assert.True(last >= 0, $"instance {instance} read nothing at offset {consumed}");
                var fatal = dies && batch == fatalBatch;
                if (fatal && killPoint == KillPoint.AfterProduce)
                {
                    // The records must be in the log for read_committed to have something to hide.
                    producer.Flush(TimeSpan.FromSeconds(10));
                    abortedResults += produced;
                    outcome = $"killed after producing {produced} results in transaction {batch}";
                    break;
                }

                producer.SendOffsetsToTransaction([new TopicPartitionOffset(Input, 0, last + 1)], consumer.ConsumerGroupMetadata, TimeSpan.FromSeconds(20));
                if (fatal && killPoint == KillPoint.AfterSendOffsets)
                {
                    producer.Flush(TimeSpan.FromSeconds(10));
                    abortedResults += produced;
                    outcome = $"killed after sending offsets in transaction {batch} ({produced} results)";
                    break;
                }

                producer.CommitTransaction(TimeSpan.FromSeconds(20));
                consumed = (int)(last + 1);
                if (fatal)
                {
                    outcome = $"killed after committing transaction {batch}";
                    break;
                }
            }

            // A dead instance neither closes its consumer nor ends its transaction; disposing
            // the clients only drops their connections.
            if (!dies)
            {
                consumer.Close();
            }

            output.WriteLine($"instance {instance}: {outcome}; {consumed} consumed, {watch.Elapsed.TotalSeconds:F1} s");
        }

        Assert.Equal(count, consumed);
        var expected = Enumerable.Range(0, count).Select(i => $"out-{i}").ToList();
        Assert.Equal(expected, ReadOutput(broker.BootstrapServers, IsolationLevel.ReadCommitted));
        var uncommitted = ReadOutput(broker.BootstrapServers, IsolationLevel.ReadUncommitted);
        Assert.Equal(count + abortedResults, uncommitted.Count);
        Assert.Equal(expected, uncommitted.Distinct().Order(Comparer<string>.Create(CompareResults)));
        output.WriteLine($"{count} results committed, {abortedResults} aborted, {watch.Elapsed.TotalSeconds:F1} s");
    }

    private static int CompareResults(string a, string b) => int.Parse(a[4..]).CompareTo(int.Parse(b[4..]));

    private static List<string> ReadOutput(string bootstrapServers, IsolationLevel isolation)
    {
        var config = Clients.ConsumerConfig(bootstrapServers);
        config.IsolationLevel = isolation;
        config.EnablePartitionEof = true;
        using var reader = new ConsumerBuilder<string, string>(config).Build();
        reader.Assign(new TopicPartitionOffset(Output, 0, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var result = reader.Consume(TimeSpan.FromMilliseconds(500));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                return values;
            }

            values.Add(result.Message.Value);
        }

        throw new TimeoutException($"{isolation} read of {Output} did not reach its end within 20 s ({values.Count} records)");
    }
}
