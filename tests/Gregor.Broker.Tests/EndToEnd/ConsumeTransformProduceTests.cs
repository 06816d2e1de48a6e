using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// The exactly-once loop (consume, produce the result, SendOffsetsToTransaction, commit) with
/// instances that die mid-transaction: the output read with read_committed holds every input
/// record's result exactly once.
/// </summary>
public class ConsumeTransformProduceTests
{
    [Fact]
    public async Task EveryInputIsTransformedExactlyOnceAcrossCrashedInstances()
    {
        const string input = "ctp-input";
        const string output = "ctp-output";
        const string group = "ctp-group";
        const int count = 60;
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, input, 1);
        await Clients.CreateTopicAsync(broker.BootstrapServers, output, 1);
        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(broker.BootstrapServers)).Build())
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(input, new Message<string, string> { Key = "k", Value = $"{i}" });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var consumed = 0;
        for (var instance = 0; instance < 8 && consumed < count; instance++)
        {
            var crash = instance % 2 == 0;
            var producerConfig = Clients.ProducerConfig(broker.BootstrapServers);
            producerConfig.TransactionalId = "ctp-txn";
            var consumerConfig = Clients.ConsumerConfig(broker.BootstrapServers, group);
            consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
            consumerConfig.SessionTimeoutMs = 6_000;
            using var producer = new ProducerBuilder<string, string>(producerConfig).Build();
            using var consumer = new ConsumerBuilder<string, string>(consumerConfig).Build();
            producer.InitTransactions(TimeSpan.FromSeconds(20));
            consumer.Assign(new TopicPartition(input, 0));
            var committed = consumer.Committed([new TopicPartition(input, 0)], TimeSpan.FromSeconds(10));
            var start = committed[0].Offset == Offset.Unset ? 0 : committed[0].Offset.Value;
            Assert.Equal(consumed, start);
            consumer.Seek(new TopicPartitionOffset(input, 0, start));

            for (var batch = 0; batch < 2; batch++)
            {
                producer.BeginTransaction();
                var last = -1L;
                for (var n = 0; n < 7; n++)
                {
                    var record = consumer.Consume(TimeSpan.FromSeconds(5));
                    if (record is null || record.IsPartitionEOF)
                    {
                        break;
                    }

                    producer.Produce(output, new Message<string, string> { Key = "k", Value = $"out-{record.Message.Value}" });
                    last = record.Offset.Value;
                }

                if (last < 0)
                {
                    producer.AbortTransaction(TimeSpan.FromSeconds(20));
                    break;
                }

                producer.SendOffsetsToTransaction([new TopicPartitionOffset(input, 0, last + 1)], consumer.ConsumerGroupMetadata, TimeSpan.FromSeconds(20));
                if (crash && batch == 1)
                {
                    // Dies with the transaction open: its output must never become visible.
                    producer.Flush(TimeSpan.FromSeconds(10));
                    break;
                }

                producer.CommitTransaction(TimeSpan.FromSeconds(20));
                consumed = (int)(last + 1);
            }

            consumer.Close();
        }

        Assert.Equal(count, consumed);
        var config = Clients.ConsumerConfig(broker.BootstrapServers);
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.EnablePartitionEof = true;
        using var reader = new ConsumerBuilder<string, string>(config).Build();
        reader.Assign(new TopicPartitionOffset(output, 0, Offset.Beginning));
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
                break;
            }

            values.Add(result.Message.Value);
        }

        Assert.Equal(Enumerable.Range(0, count).Select(i => $"out-{i}"), values);
    }
}
