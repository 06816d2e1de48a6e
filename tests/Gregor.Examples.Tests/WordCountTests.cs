using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace Gregor.Examples.Tests;

/// <summary>
/// The Streamiz word count (examples/Gregor.Examples.WordCount) with exactly-once processing,
/// run as a child process that is killed mid-way (a real crash: no commit, no close, an open
/// transaction left behind) and then started again. The output read with read_committed must
/// hold, for every word, exactly the counts 1, 2, ..., n: a count past n or a repeated count
/// would be a line counted twice, a missing one a line lost.
/// </summary>
public class WordCountTests(ITestOutputHelper output)
{
    private const string InputTopic = "lines";
    private const string OutputTopic = "word-counts";
    private const int Partitions = 2;
    private const int Lines = 2_000;

    private static readonly string[] Vocabulary =
    [
        "kafka", "gregor", "stream", "table", "topic", "partition", "offset", "record",
        "broker", "leader", "replica", "commit", "abort", "epoch", "fence", "marker",
    ];

    [Fact]
    public async Task WordCountCrashedAndRestartedCountsEveryWordExactlyOnce()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bootstrap = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bootstrap, InputTopic, Partitions);
        await Clients.CreateTopicAsync(bootstrap, OutputTopic, Partitions);

        // GREGOR_TEST_SEED=<printed seed> replays a run's text.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("GREGOR_TEST_SEED"), out var fixedSeed) ? fixedSeed : Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var expected = await ProduceLinesAsync(bootstrap, new Random(seed));
        var totalWords = expected.Values.Sum();
        output.WriteLine($"{Lines} lines, {totalWords} words, {expected.Count} distinct");

        var applicationId = $"wordcount-{Guid.NewGuid():N}";
        using var stateDirectory = new StateDirectoryCleanup(Path.Combine(Path.GetTempPath(), "gregor-wordcount", applicationId));
        using var watermarks = new ConsumerBuilder<byte[], byte[]>(Clients.ConsumerConfig(bootstrap)).Build();
        var watch = Stopwatch.StartNew();
        using (var first = WordCountProcess.Start(bootstrap, applicationId))
        {
            // Crash while the counting is in full swing: Streamiz commits every 100 ms, so a
            // transaction is almost always open then.
            var crashAt = totalWords / 5;
            await WaitUntilAsync(() => OutputHighWatermark(watermarks) >= crashAt, TimeSpan.FromSeconds(45), first, "the first run to produce a fifth of the counts", pollInterval: TimeSpan.FromMilliseconds(20));
            first.Crash();
            output.WriteLine($"first run killed after {watch.Elapsed.TotalSeconds:F1} s at output high watermark {OutputHighWatermark(watermarks)}");
        }

        var committedAfterCrash = ReadCommitted(bootstrap).Count;
        output.WriteLine($"committed counts after the crash: {committedAfterCrash} of {totalWords}");
        Assert.InRange(committedAfterCrash, 0, totalWords - 1);

        List<(string Word, long Count)> counts;
        using (var second = WordCountProcess.Start(bootstrap, applicationId))
        {
            await WaitUntilAsync(() => ReadCommitted(bootstrap).Count >= totalWords, TimeSpan.FromSeconds(60), second, "the second run to finish", () => $"committed {ReadCommitted(bootstrap).Count}, high watermark {OutputHighWatermark(watermarks)}");
            // A little longer: a double count would show up as records past the expected total.
            await Task.Delay(TimeSpan.FromSeconds(2));
            counts = ReadCommitted(bootstrap);
            second.Crash();
        }

        // Evidence that the crash left transactions behind that the restart had to ignore.
        var changelog = $"{applicationId}-{Gregor.Examples.WordCount.Program.CountStoreName}-changelog";
        output.WriteLine(
            $"done after {watch.Elapsed.TotalSeconds:F1} s; output: {counts.Count} committed counts, {Read(bootstrap, OutputTopic, IsolationLevel.ReadUncommitted).Count - counts.Count} aborted, " +
            $"high watermark {OutputHighWatermark(watermarks)}; changelog: {Read(bootstrap, changelog, IsolationLevel.ReadCommitted).Count} committed, " +
            $"{Read(bootstrap, changelog, IsolationLevel.ReadUncommitted).Count} read_uncommitted");
        foreach (var (word, total) in expected.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var sequence = counts.Where(c => c.Word == word).Select(c => c.Count).ToList();
            Assert.True(sequence.Count > 0, $"no count for '{word}'");
            Assert.True(sequence.Max() <= total, $"'{word}' counted to {sequence.Max()}, more than its {total} occurrences");
            Assert.Equal(total, sequence[^1]);
            Assert.Equal(LongRange(1, total), sequence);
        }

        Assert.Equal(totalWords, counts.Count);
        Assert.Empty(counts.Select(c => c.Word).Except(expected.Keys));
    }

    private static IEnumerable<long> LongRange(long first, long last)
    {
        for (var i = first; i <= last; i++)
        {
            yield return i;
        }
    }

    private static async Task<Dictionary<string, long>> ProduceLinesAsync(string bootstrap, Random random)
    {
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(bootstrap)).Build();
        for (var i = 0; i < Lines; i++)
        {
            var words = new string[random.Next(1, 9)];
            for (var w = 0; w < words.Length; w++)
            {
                words[w] = Vocabulary[random.Next(Vocabulary.Length)];
                expected[words[w]] = expected.GetValueOrDefault(words[w]) + 1;
            }

            // Mixed case and extra spaces: the topology lower-cases and drops empty entries.
            var line = string.Join("  ", words.Select((word, n) => n % 3 == 0 ? word.ToUpperInvariant() : word));
            producer.Produce(InputTopic, new Message<string, string> { Key = $"line-{i}", Value = line });
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        await Task.CompletedTask;
        return expected;
    }

    private static long OutputHighWatermark(IConsumer<byte[], byte[]> consumer) =>
        Enumerable.Range(0, Partitions).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(OutputTopic, p), TimeSpan.FromSeconds(10)).High.Value);

    /// <summary>Every committed (word, count) of the output, in log order per partition.</summary>
    private static List<(string Word, long Count)> ReadCommitted(string bootstrap) =>
        Read(bootstrap, OutputTopic, IsolationLevel.ReadCommitted).Select(r => (r.Key, long.Parse(r.Value, CultureInfo.InvariantCulture))).ToList();

    /// <summary>Every record of a topic (in log order per partition) up to where the isolation level lets a consumer read.</summary>
    private static List<(string Key, string Value)> Read(string bootstrap, string topic, IsolationLevel isolation)
    {
        var config = Clients.ConsumerConfig(bootstrap);
        config.IsolationLevel = isolation;
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<string, string>(config).SetValueDeserializer(Deserializers.Utf8).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var byPartition = Enumerable.Range(0, Partitions).Select(_ => new List<(string, string)>()).ToArray();
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (atEnd.Count < Partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{isolation} did not reach the end of {topic} within 20 s");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                continue;
            }

            byPartition[result.Partition.Value].Add((result.Message.Key, result.Message.Value));
        }

        return byPartition.SelectMany(p => p).ToList();
    }

    private async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, WordCountProcess process, string what, Func<string>? progress = null, TimeSpan? pollInterval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                output.WriteLine(process.OutputTail());
                if (progress is not null)
                {
                    output.WriteLine(progress());
                }
                Assert.Fail(process.HasExited ? $"the word count exited ({process.ExitCode}) while waiting for {what}" : $"timed out waiting for {what}");
            }

            await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>The example keeps Streamiz's state directory (checkpoints) under the temp folder.</summary>
    private sealed class StateDirectoryCleanup(string path) : IDisposable
    {
        public void Dispose()
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
    }

    /// <summary>The example as a child process (`dotnet Gregor.Examples.WordCount.dll ...`).</summary>
    private sealed class WordCountProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private WordCountProcess(Process process)
        {
            _process = process;
        }

        public bool HasExited => _process.HasExited;

        public int ExitCode => _process.ExitCode;

        public static WordCountProcess Start(string bootstrap, string applicationId)
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "Gregor.Examples.WordCount.dll");
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                dll, bootstrap, applicationId, InputTopic, OutputTopic,
                // The restarted instance joins the group while the killed one is still a member:
                // the rebalance waits for it to time out, so keep that short.
                "session.timeout.ms=6000",
            })
            {
                info.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = info };
            var wrapper = new WordCountProcess(process);
            process.OutputDataReceived += (_, e) => wrapper.Append(e.Data);
            process.ErrorDataReceived += (_, e) => wrapper.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return wrapper;
        }

        /// <summary>SIGKILL: nothing is flushed, committed or closed.</summary>
        public void Crash()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit();
        }

        public string OutputTail()
        {
            lock (_output)
            {
                var text = _output.ToString();
                return text.Length > 6_000 ? text[^6_000..] : text;
            }
        }

        public void Dispose()
        {
            Crash();
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
