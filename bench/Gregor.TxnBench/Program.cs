using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Gregor.TxnBench;

/// <summary>
/// Producer throughput against one broker, same record count and size, same run: an idempotent
/// producer with acks=all, then a transactional one committing every N records. Prints records/s
/// for both and their ratio, and checks each topic's high watermark (the transactional topic also
/// holds one commit marker per transaction).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 1)
        {
            await Console.Error.WriteLineAsync("usage: Gregor.TxnBench <bootstrap servers> [count=200000] [size=1000] [records per transaction=100]");
            return 2;
        }

        var bootstrap = args[0];
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
        var size = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000;
        var perTransaction = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var plainTopic = $"txn-bench-plain-{suffix}";
        var transactionalTopic = $"txn-bench-txn-{suffix}";
        await CreateTopicsAsync(bootstrap, plainTopic, transactionalTopic).ConfigureAwait(false);

        var value = new byte[size];
        new Random(42).NextBytes(value);

        var plain = ProducePlain(bootstrap, plainTopic, count, value);
        var transactional = ProduceTransactional(bootstrap, transactionalTopic, count, value, perTransaction);
        var transactions = (count + perTransaction - 1) / perTransaction;

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = $"txn-bench-{suffix}", BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();
        var plainEnd = consumer.QueryWatermarkOffsets(new TopicPartition(plainTopic, 0), TimeSpan.FromSeconds(10)).High.Value;
        var transactionalEnd = consumer.QueryWatermarkOffsets(new TopicPartition(transactionalTopic, 0), TimeSpan.FromSeconds(10)).High.Value;

        Console.WriteLine($"{count:N0} x {size:N0} B records, 1 partition, acks=all, idempotent, linger.ms=5");
        Console.WriteLine($"{"",-40} {"records/s",12} {"MB/s",8} {"seconds",8} {"log end",10}");
        Console.WriteLine($"{"non-transactional",-40} {count / plain.TotalSeconds,12:N0} {count * (double)size / plain.TotalSeconds / 1e6,8:F1} {plain.TotalSeconds,8:F2} {plainEnd,10:N0}");
        Console.WriteLine($"{$"transactional, {perTransaction} records/transaction",-40} {count / transactional.TotalSeconds,12:N0} {count * (double)size / transactional.TotalSeconds / 1e6,8:F1} {transactional.TotalSeconds,8:F2} {transactionalEnd,10:N0}");
        Console.WriteLine($"transactional / non-transactional: {plain.TotalSeconds / transactional.TotalSeconds:F3}; {transactions:N0} transactions, {transactional.TotalMilliseconds / transactions:F1} ms each ({transactions / transactional.TotalSeconds:N0} commits/s)");

        var ok = plainEnd == count && transactionalEnd == count + transactions;
        if (!ok)
        {
            await Console.Error.WriteLineAsync($"unexpected log end offsets: {plainEnd} (want {count}), {transactionalEnd} (want {count + transactions}: records plus one marker per transaction)");
        }

        return ok ? 0 : 1;
    }

    private static ProducerConfig Config(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        Acks = Acks.All,
        EnableIdempotence = true,
        LingerMs = 5,
        BrokerAddressFamily = BrokerAddressFamily.V4,
    };

    private static TimeSpan ProducePlain(string bootstrap, string topic, int count, byte[] value)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(Config(bootstrap)).Build();
        var failures = 0;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            Produce(producer, topic, value, report => Interlocked.Add(ref failures, report.Error.IsError ? 1 : 0));
        }

        if (producer.Flush(TimeSpan.FromMinutes(5)) != 0 || failures != 0)
        {
            throw new InvalidOperationException($"non-transactional run: {failures} failed deliveries");
        }

        return watch.Elapsed;
    }

    private static TimeSpan ProduceTransactional(string bootstrap, string topic, int count, byte[] value, int perTransaction)
    {
        var config = Config(bootstrap);
        config.TransactionalId = $"txn-bench-{Guid.NewGuid():N}";
        using var producer = new ProducerBuilder<Null, byte[]>(config).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        var watch = Stopwatch.StartNew();
        for (var sent = 0; sent < count;)
        {
            producer.BeginTransaction();
            var end = Math.Min(count, sent + perTransaction);
            for (; sent < end; sent++)
            {
                Produce(producer, topic, value, null);
            }

            // Flushes the transaction's records, then EndTxn(commit) and waits for its completion.
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        return watch.Elapsed;
    }

    private static void Produce(IProducer<Null, byte[]> producer, string topic, byte[] value, Action<DeliveryReport<Null, byte[]>>? handler)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, new Message<Null, byte[]> { Value = value }, handler);
                return;
            }
            catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }

    private static async Task CreateTopicsAsync(string bootstrap, params string[] topics)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();
        await admin.CreateTopicsAsync(topics.Select(t => new TopicSpecification { Name = t, NumPartitions = 1, ReplicationFactor = 1 })).ConfigureAwait(false);
    }
}
