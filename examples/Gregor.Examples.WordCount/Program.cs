using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;

namespace Gregor.Examples.WordCount;

/// <summary>
/// Kafka Streams' word count on Streamiz.Kafka.Net with exactly-once processing: lines are split
/// into words, re-keyed by word (which goes through a repartition topic), counted in a state store
/// (backed by a changelog topic) and every new count is written to the output topic.
/// </summary>
public static class Program
{
    public const string CountStoreName = "word-count-store";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 4 || args.Skip(4).Any(a => !a.Contains('=', StringComparison.Ordinal)))
        {
            await Console.Error.WriteLineAsync("usage: Gregor.Examples.WordCount <bootstrap servers> <application id> <input topic> <output topic> [client.property=value ...]");
            return 2;
        }

        var (bootstrapServers, applicationId, inputTopic, outputTopic) = (args[0], args[1], args[2], args[3]);
        using var stopping = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stopping.Cancel();
        };

        await EnsureOutputTopicAsync(bootstrapServers, inputTopic, outputTopic).ConfigureAwait(false);
        var config = CreateConfig(bootstrapServers, applicationId);
        foreach (var property in args.Skip(4))
        {
            // Passed on to Streamiz's clients, e.g. session.timeout.ms=6000.
            var separator = property.IndexOf('=', StringComparison.Ordinal);
            SetProperty(config, property[..separator], property[(separator + 1)..]);
        }

        using var stream = new KafkaStream(BuildTopology(inputTopic, outputTopic), config);
        var failed = false;
        stream.StateChanged += (_, state) =>
        {
            Console.WriteLine($"state {state}");
            if (state == KafkaStream.State.ERROR)
            {
                failed = true;
                stopping.Cancel();
            }
        };
        await stream.StartAsync(stopping.Token).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return failed ? 1 : 0;
    }

    /// <summary>
    /// Streamiz's indexer maps a known key (session.timeout.ms) onto its typed property and
    /// rejects a string there, so a number or boolean is tried when the string is refused.
    /// </summary>
    private static void SetProperty(StreamConfig config, string key, string value)
    {
        object?[] candidates =
        [
            value,
            int.TryParse(value, out var i) ? i : null,
            long.TryParse(value, out var l) ? l : null,
            bool.TryParse(value, out var b) ? b : null,
        ];
        foreach (var candidate in candidates.OfType<object>())
        {
            try
            {
                config[key] = candidate;
                return;
            }
            catch (ArgumentException)
            {
            }
        }

        throw new ArgumentException($"Streamiz does not accept {key}={value}.");
    }

    /// <summary>
    /// Kafka Streams creates its internal topics (repartition, changelog) but never the sink
    /// topic; the example creates it with the input's partition count so it runs on a fresh broker.
    /// </summary>
    private static async Task EnsureOutputTopicAsync(string bootstrapServers, string inputTopic, string outputTopic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        if (metadata.Topics.Any(t => t.Topic == outputTopic && t.Error.Code == ErrorCode.NoError))
        {
            return;
        }

        var input = metadata.Topics.FirstOrDefault(t => t.Topic == inputTopic && t.Error.Code == ErrorCode.NoError);
        try
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = outputTopic, NumPartitions = input?.Partitions.Count ?? 1, ReplicationFactor = 1 }]).ConfigureAwait(false);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
        {
        }
    }

    public static StreamConfig<StringSerDes, StringSerDes> CreateConfig(string bootstrapServers, string applicationId) => new()
    {
        ApplicationId = applicationId,
        BootstrapServers = bootstrapServers,
        // Kafka Streams' exactly_once_v2: one transactional producer per stream thread, offsets
        // committed with the output in the same transaction, read_committed consumers.
        Guarantee = ProcessingGuarantee.EXACTLY_ONCE,
        // Kafka Streams' own default under exactly-once (librdkafka's is 60 s). Streamiz names its
        // transactional.id after a process id it draws anew at each start, so a crashed instance's
        // open transaction is not fenced by its successor: the coordinator aborts it when this
        // timeout passes, and until then read_committed consumers of the repartition and
        // changelog topics wait at the last stable offset.
        TransactionTimeoutMs = 10_000,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        // Every input word yields one output record (no record cache folding updates together).
        DefaultCacheEnabled = false,
        ReplicationFactor = 1,
        StateDir = Path.Combine(Path.GetTempPath(), "gregor-wordcount", applicationId),
        BrokerAddressFamily = BrokerAddressFamily.V4,
        Logger = LoggerFactory.Create(builder => builder.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information)),
    };

    public static Streamiz.Kafka.Net.Stream.Topology BuildTopology(string inputTopic, string outputTopic)
    {
        var builder = new StreamBuilder();
        builder.Stream<string, string>(inputTopic)
            .FlatMapValues((line, _) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(word => word.ToLowerInvariant()))
            .GroupBy<string, StringSerDes, StringSerDes>((_, word, _) => word)
            .Count(InMemory.As<string, long>(CountStoreName))
            .ToStream()
            // Decimal text rather than Streamiz's Int64SerDes, which writes the long little-endian
            // (Kafka's LongSerializer is big-endian): any client, kcat included, reads it as is.
            .MapValues((count, _) => count.ToString(CultureInfo.InvariantCulture))
            .To<StringSerDes, StringSerDes>(outputTopic);
        return builder.Build();
    }
}
