// acks=all throughput and end-to-end latency against a running cluster: a Confluent.Kafka
// producer writes fixed-size records to a topic (created with the given replication factor), paced
// at a fixed byte rate or as fast as it can; a consumer in the same process reads them back, and
// each record's latency is its consume time minus its send time (carried in the value's first 8
// bytes as Stopwatch ticks, the same clock as the consumer's: microsecond resolution, where the
// record timestamp has milliseconds). Prints achieved throughput and latency p50/p99/p99.9/max.
//
//   dotnet run -c Release --project bench/Gregor.LatencyBench -- --bootstrap host:port[,...]
//       [--topic t] [--partitions 6] [--replication-factor 3] [--record-size 1000]
//       [--rate-mb 50 (0 = unpaced)] [--duration 30] [--warmup 5] [--acks all|1|0]
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

var options = Options.Parse(args);
var topic = options.Topic ?? $"latency-{DateTime.UtcNow:HHmmss}";
using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.Bootstrap, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build())
{
    try
    {
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = options.Partitions, ReplicationFactor = options.ReplicationFactor }]);
    }
    catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
    {
    }

    // Wait until every partition has a leader and its full ISR, so the run measures replication,
    // not start-up.
    var ready = Stopwatch.StartNew();
    while (true)
    {
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
        var partitions = metadata.Topics.Single().Partitions;
        if (partitions.Count == options.Partitions && partitions.All(p => p.Leader >= 0 && p.InSyncReplicas.Length == options.ReplicationFactor))
        {
            break;
        }

        if (ready.Elapsed > TimeSpan.FromSeconds(60))
        {
            Console.Error.WriteLine($"{topic}: partitions not fully replicated after 60 s: {string.Join("; ", partitions.Select(p => $"p{p.PartitionId} leader {p.Leader} isr [{string.Join(',', p.InSyncReplicas)}]"))}");
            return 1;
        }

        await Task.Delay(250);
    }
}

var rateBytes = options.RateMb * 1_000_000d;
Console.WriteLine($"topic {topic}: {options.Partitions} partitions, replication factor {options.ReplicationFactor}, acks={options.Acks}, {options.RecordSize}-byte records, " +
                  (rateBytes > 0 ? $"paced at {options.RateMb} MB/s ({rateBytes / options.RecordSize:F0} records/s)" : "unpaced") +
                  $", {options.Duration} s (latency after a {options.Warmup} s warm-up); librdkafka {Library.VersionString}");

var warmupTicks = (long)(options.Warmup * Stopwatch.Frequency);
var warmupEnd = long.MaxValue;
var latencies = new List<long>(capacity: 2_000_000);
var consumed = 0L;
var consumerReady = new TaskCompletionSource();
using var stopConsumer = new CancellationTokenSource();
var consumerThread = new Thread(() =>
{
    using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
    {
        BootstrapServers = options.Bootstrap,
        GroupId = $"latency-bench-{Guid.NewGuid():N}",
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        FetchWaitMaxMs = 5,
        FetchMinBytes = 1,
        BrokerAddressFamily = BrokerAddressFamily.V4,
    }).Build();
    consumer.Assign(Enumerable.Range(0, options.Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
    consumerReady.SetResult();
    while (!stopConsumer.IsCancellationRequested)
    {
        var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
        if (result?.Message?.Value is not { Length: >= 8 } value)
        {
            continue;
        }

        var now = Stopwatch.GetTimestamp();
        var sent = BinaryPrimitives.ReadInt64LittleEndian(value);
        Interlocked.Increment(ref consumed);
        if (sent >= Volatile.Read(ref warmupEnd))
        {
            latencies.Add(now - sent);
        }
    }
})
{ IsBackground = true, Name = "latency-consumer" };
consumerThread.Start();
await consumerReady.Task;

using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
{
    BootstrapServers = options.Bootstrap,
    Acks = options.Acks switch { "0" => Acks.None, "1" => Acks.Leader, _ => Acks.All },
    EnableIdempotence = false,
    LingerMs = 5,
    BatchSize = 1_000_000,
    QueueBufferingMaxKbytes = 256 * 1024,
    CompressionType = CompressionType.None,
    BrokerAddressFamily = BrokerAddressFamily.V4,
}).Build();

var acked = 0L;
var failed = 0L;
var queueFull = 0L;
ErrorCode? firstError = null;
var lastAck = 0L;
void OnDelivery(DeliveryReport<Null, byte[]> report)
{
    if (report.Error.IsError)
    {
        if (Interlocked.Increment(ref failed) == 1)
        {
            firstError = report.Error.Code;
        }
    }
    else
    {
        Interlocked.Increment(ref acked);
        Interlocked.Exchange(ref lastAck, Stopwatch.GetTimestamp());
    }
}

// One probe record per partition, consumed before the clock starts: librdkafka's consumer needs a
// few seconds to learn a new topic's metadata and reset its positions, which is not latency.
for (var p = 0; p < options.Partitions; p++)
{
    producer.Produce(new TopicPartition(topic, p), new Message<Null, byte[]> { Value = new byte[options.RecordSize] });
}

producer.Flush(TimeSpan.FromSeconds(30));
var probeDeadline = Stopwatch.StartNew();
while (Interlocked.Read(ref consumed) < options.Partitions)
{
    if (probeDeadline.Elapsed > TimeSpan.FromSeconds(60))
    {
        Console.Error.WriteLine($"the consumer read {Interlocked.Read(ref consumed)} of {options.Partitions} probe records in 60 s");
        return 1;
    }

    await Task.Delay(20);
}

Interlocked.Exchange(ref consumed, 0);
var payloadFill = new byte[options.RecordSize];
Random.Shared.NextBytes(payloadFill);
var produceStart = Stopwatch.GetTimestamp();
Volatile.Write(ref warmupEnd, produceStart + warmupTicks);
var produceEnd = produceStart + (long)(options.Duration * Stopwatch.Frequency);
var sentCount = 0L;
var partition = 0;
while (true)
{
    var now = Stopwatch.GetTimestamp();
    if (now >= produceEnd)
    {
        break;
    }

    // Paced: send what is due by now (a token bucket with no burst beyond what fell behind).
    var due = rateBytes > 0 ? (long)((now - produceStart) / (double)Stopwatch.Frequency * rateBytes / options.RecordSize) - sentCount : 1000;
    if (due <= 0)
    {
        Thread.Sleep(TimeSpan.FromMilliseconds(1));
        continue;
    }

    for (var i = 0; i < due; i++)
    {
        var value = new byte[options.RecordSize];
        payloadFill.CopyTo(value, 0);
        BinaryPrimitives.WriteInt64LittleEndian(value, Stopwatch.GetTimestamp());
        try
        {
            producer.Produce(new TopicPartition(topic, partition), new Message<Null, byte[]> { Value = value }, OnDelivery);
            partition = (partition + 1) % options.Partitions;
            sentCount++;
        }
        catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
        {
            // The client's queue is full: the cluster is slower than the pace; wait for acks.
            queueFull++;
            producer.Poll(TimeSpan.FromMilliseconds(5));
            break;
        }
    }
}

var remaining = producer.Flush(TimeSpan.FromSeconds(60));
var producedSeconds = (Interlocked.Read(ref lastAck) - produceStart) / (double)Stopwatch.Frequency;
var drainDeadline = Stopwatch.StartNew();
while (Interlocked.Read(ref consumed) < Interlocked.Read(ref acked) && drainDeadline.Elapsed < TimeSpan.FromSeconds(30))
{
    await Task.Delay(50);
}

await stopConsumer.CancelAsync();
consumerThread.Join();

var ackedBytes = acked * (double)options.RecordSize;
Console.WriteLine($"produced: {sentCount:N0} sent, {acked:N0} acknowledged, {failed:N0} failed{(firstError is null ? "" : $" (first error {firstError})")}, {remaining} unflushed, queue full {queueFull:N0}x");
Console.WriteLine($"throughput (acknowledged): {ackedBytes / producedSeconds / 1_000_000:F1} MB/s, {acked / producedSeconds:N0} records/s over {producedSeconds:F1} s");
Console.WriteLine($"consumed: {consumed:N0} records");
if (latencies.Count == 0)
{
    Console.WriteLine("latency: no samples");
    return 1;
}

latencies.Sort();
double Ms(long ticks) => ticks * 1000d / Stopwatch.Frequency;
double Percentile(double p) => Ms(latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p / 100 * latencies.Count) - 1)]);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"end-to-end latency over {latencies.Count:N0} records: p50 {Percentile(50):F1} ms, p99 {Percentile(99):F1} ms, p99.9 {Percentile(99.9):F1} ms, max {Ms(latencies[^1]):F1} ms"));
return failed == 0 && remaining == 0 ? 0 : 2;

internal sealed record Options(string Bootstrap, string? Topic, int Partitions, short ReplicationFactor, int RecordSize, double RateMb, double Duration, double Warmup, string Acks)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument {args[i]}");
            }

            values[args[i][2..]] = args[i + 1];
        }

        string Get(string key, string fallback) => values.TryGetValue(key, out var v) ? v : fallback;
        double Number(string key, string fallback) => double.Parse(Get(key, fallback), CultureInfo.InvariantCulture);
        return new Options(
            Get("bootstrap", "127.0.0.1:19092,127.0.0.1:29092,127.0.0.1:39092"),
            values.GetValueOrDefault("topic"),
            (int)Number("partitions", "6"),
            (short)Number("replication-factor", "3"),
            Math.Max(8, (int)Number("record-size", "1000")),
            Number("rate-mb", "50"),
            Number("duration", "30"),
            Number("warmup", "5"),
            Get("acks", "all"));
    }
}
