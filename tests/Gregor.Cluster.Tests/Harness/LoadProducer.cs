using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;

namespace Gregor.Cluster.Tests.Harness;

/// <summary>One record the broker acknowledged: its sequence number within its partition and its offset.</summary>
public sealed record Ack(long Sequence, long Offset, TimeSpan At);

/// <summary>
/// A producer without idempotence (acks=all, retries, one request in flight per connection so a
/// retry cannot reorder) writing <c>partition:sequence</c> values to every partition of a topic
/// continuously, recording what was acknowledged at which offset and what failed.
/// </summary>
public sealed class LoadProducer : IAsyncDisposable
{
    private readonly IProducer<Null, string> _producer;
    private readonly string _topic;
    private readonly int _partitions;
    private readonly TimeSpan _interval;
    private readonly ConcurrentDictionary<int, ConcurrentQueue<Ack>> _acks = new();
    private readonly ConcurrentQueue<(int Partition, long Sequence, ErrorCode Code)> _errors = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _sent;

    public LoadProducer(string bootstrapServers, string topic, int partitions, TimeSpan interval, Action<ProducerConfig>? configure = null)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Confluent.Kafka.Acks.All,
            EnableIdempotence = false,
            MaxInFlight = 1,
            LingerMs = 2,
            MessageTimeoutMs = 90_000,
            RequestTimeoutMs = 10_000,
            RetryBackoffMs = 100,
            RetryBackoffMaxMs = 500,
            SocketTimeoutMs = 5_000,
            ReconnectBackoffMaxMs = 1_000,
            TopicMetadataRefreshIntervalMs = 1_000,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        };
        configure?.Invoke(config);
        _producer = ClusterClients.Producer(config);
        _topic = topic;
        _partitions = partitions;
        _interval = interval;
        for (var p = 0; p < partitions; p++)
        {
            _acks[p] = new ConcurrentQueue<Ack>();
        }
    }

    public TimeSpan Now => _clock.Elapsed;

    public long Sent => Interlocked.Read(ref _sent);

    public IReadOnlyList<(int Partition, long Sequence, ErrorCode Code)> Errors => [.. _errors];

    public IReadOnlyList<Ack> Acks(int partition) => [.. _acks[partition].OrderBy(a => a.Sequence)];

    public int AckCount => _acks.Values.Sum(q => q.Count);

    public int AcksSince(TimeSpan at) => _acks.Values.Sum(q => q.Count(a => a.At >= at));

    public static string Value(int partition, long sequence) => $"{partition}:{sequence}";

    public static (int Partition, long Sequence) Parse(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return (int.Parse(value.AsSpan(0, colon), CultureInfo.InvariantCulture), long.Parse(value.AsSpan(colon + 1), CultureInfo.InvariantCulture));
    }

    public void Start()
    {
        _loop = Task.Run(async () =>
        {
            var sequence = 0L;
            while (!_stop.IsCancellationRequested)
            {
                for (var p = 0; p < _partitions; p++)
                {
                    var partition = p;
                    var seq = sequence;
                    _producer.Produce(
                        new TopicPartition(_topic, partition),
                        new Message<Null, string> { Value = Value(partition, seq) },
                        report =>
                        {
                            if (report.Error.IsError)
                            {
                                _errors.Enqueue((partition, seq, report.Error.Code));
                            }
                            else
                            {
                                _acks[partition].Enqueue(new Ack(seq, report.Offset.Value, _clock.Elapsed));
                            }
                        });
                    Interlocked.Increment(ref _sent);
                }

                sequence++;
                try
                {
                    await Task.Delay(_interval, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    /// <summary>Stops producing and waits for every outstanding delivery report.</summary>
    public async Task StopAsync(TimeSpan flushTimeout)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        var remaining = _producer.Flush(flushTimeout);
        if (remaining > 0)
        {
            throw new TimeoutException($"{remaining} records still had no delivery report after {flushTimeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>
    /// Reads every partition back and checks Kafka's guarantees for acknowledged acks=all
    /// records: each one is in the log exactly at the offset its acknowledgement named, and each
    /// partition's log holds the producer's sequence numbers in order (a retry may duplicate the
    /// records it retried, never reorder first occurrences).
    /// </summary>
    public string Verify(string bootstrapServers)
    {
        var summary = new List<string>();
        for (var p = 0; p < _partitions; p++)
        {
            var log = ClusterClients.ReadPartition(bootstrapServers, _topic, p, TimeSpan.FromSeconds(60));
            var acks = Acks(p);
            foreach (var ack in acks)
            {
                if (!log.TryGetValue(ack.Offset, out var value))
                {
                    throw new InvalidOperationException($"partition {p}: record {ack.Sequence}, acknowledged at offset {ack.Offset}, is missing (log has {log.Count} records, offsets {FirstLast(log)})");
                }

                if (value != Value(p, ack.Sequence))
                {
                    throw new InvalidOperationException($"partition {p}: offset {ack.Offset} acknowledged record {Value(p, ack.Sequence)} but holds {value}");
                }
            }

            for (var i = 1; i < acks.Count; i++)
            {
                if (acks[i].Offset <= acks[i - 1].Offset)
                {
                    throw new InvalidOperationException($"partition {p}: record {acks[i].Sequence} acknowledged at offset {acks[i].Offset}, not after record {acks[i - 1].Sequence} at {acks[i - 1].Offset}; {Context(log, acks, acks[i].Offset)}");
                }
            }

            // A retried batch that had reached the log before the leader died appears twice (this
            // producer is not idempotent), so a batch of several records makes the sequence step
            // back to records already seen. What must never happen is a record seen for the first
            // time after a later one: the first occurrences must be in the order sent.
            var highest = -1L;
            var seen = new HashSet<long>();
            foreach (var (offset, value) in log)
            {
                var (partition, sequence) = Parse(value);
                if (partition != p)
                {
                    throw new InvalidOperationException($"partition {p}: offset {offset} holds a record meant for partition {partition}");
                }

                if (!seen.Add(sequence))
                {
                    continue;
                }

                if (sequence < highest)
                {
                    throw new InvalidOperationException($"partition {p}: order broken at offset {offset}: record {sequence} first appears after record {highest}; {Context(log, acks, offset)}");
                }

                highest = sequence;
            }

            summary.Add($"p{p}: {acks.Count} acked, log {log.Count} records");
        }

        return string.Join("; ", summary);
    }

    /// <summary>The log and the acknowledgements around an offset, for a failure message.</summary>
    private static string Context(SortedDictionary<long, string> log, IReadOnlyList<Ack> acks, long offset)
    {
        var window = log.Where(e => e.Key >= offset - 5 && e.Key <= offset + 5).Select(e => $"{e.Key}={e.Value}");
        var sequences = log.Where(e => e.Key >= offset - 5 && e.Key <= offset + 5).Select(e => Parse(e.Value).Sequence).ToHashSet();
        var acked = acks.Where(a => sequences.Contains(a.Sequence)).Select(a => $"{a.Sequence}@{a.Offset} ({a.At.TotalSeconds:F2} s)");
        return $"log around it: [{string.Join(", ", window)}]; acknowledgements of those records: [{string.Join(", ", acked)}]";
    }

    private static string FirstLast(SortedDictionary<long, string> log) => log.Count == 0 ? "none" : $"{log.Keys.First()}..{log.Keys.Last()}";

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _producer.Dispose();
        _stop.Dispose();
    }
}
