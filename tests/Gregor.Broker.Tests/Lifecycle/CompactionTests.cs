using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;
using static Gregor.Broker.Tests.Lifecycle.LifecycleHelpers;

namespace Gregor.Broker.Tests.Lifecycle;

public sealed class CompactionTests
{
    [Fact]
    public async Task CompactedTopicKeepsLatestValuePerKeyThroughTheBrokersCleaner()
    {
        await using var broker = await InProcessBroker.StartAsync(new Dictionary<string, string>
        {
            ["log.cleaner.backoff.ms"] = "200",
            ["log.segment.delete.delay.ms"] = "0",
        });
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "compacted", 1, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact",
            ["segment.bytes"] = "4096",
            ["min.cleanable.dirty.ratio"] = "0.01",
        });

        const int keys = 50;
        const int records = 2000;
        using (var producer = new ProducerBuilder<string, string?>(Clients.ProducerConfig(bs)).Build())
        {
            for (var i = 0; i < records; i++)
            {
                producer.Produce("compacted", new Message<string, string?> { Key = $"key-{i % keys}", Value = $"v{i}" });
                if (i % 100 == 99)
                {
                    // Many small batches, so the log has closed segments to clean.
                    producer.Flush(TimeSpan.FromSeconds(30));
                }
            }

            for (var k = 0; k < 5; k++)
            {
                producer.Produce("compacted", new Message<string, string?> { Key = $"key-{k}", Value = null });
            }

            producer.Flush(TimeSpan.FromSeconds(30));

            // Keyless records cannot be compacted: INVALID_RECORD, nothing appended.
            var keyless = await Assert.ThrowsAsync<ProduceException<string, string?>>(() =>
                producer.ProduceAsync("compacted", new Message<string, string?> { Key = null!, Value = "no key" }));
            Assert.Equal(ErrorCode.InvalidRecord, keyless.Error.Code);
        }

        var log = broker.Server.ReplicaManager.GetPartition("compacted", 0)!.Log;
        Assert.Equal(records + 5, log.LogEndOffset);
        var cleaner = broker.Server.LogManager.Cleaner!;
        await EventuallyAsync(() => cleaner.History.Count, n => n > 0, TimeSpan.FromSeconds(20));
        Assert.NotEmpty(cleaner.History);
        Assert.True(cleaner.History.Sum(h => h.RecordsKept) < cleaner.History.Sum(h => h.RecordsRead));

        // Only the cleaner removes records of a purely compacted topic.
        using (var admin = Clients.Admin(bs))
        {
            var refused = await Assert.ThrowsAsync<Confluent.Kafka.Admin.DeleteRecordsException>(() =>
                admin.DeleteRecordsAsync([new TopicPartitionOffset("compacted", 0, 10)]));
            Assert.Equal(ErrorCode.PolicyViolation, refused.Results.Single().Error.Code);
        }

        await broker.RestartAsync();
        var read = Clients.ReadAll(broker.BootstrapServers, "compacted", 1, TimeSpan.FromSeconds(30));
        Assert.True(read.Count < records / 2, $"{read.Count} records after compaction");
        var offsets = read.Select(r => r.Offset.Value).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
        var latest = new Dictionary<string, string?>();
        foreach (var r in read)
        {
            latest[Encoding.UTF8.GetString(r.Message.Key!)] = r.Message.Value is null ? null : Encoding.UTF8.GetString(r.Message.Value);
        }

        for (var k = 0; k < keys; k++)
        {
            // Tombstones stay for delete.retention.ms (a day by default).
            Assert.Equal(k < 5 ? null : $"v{records - keys + k}", latest[$"key-{k}"]);
        }
    }

    [Fact]
    public async Task BrokerStoppedMidCleaningKeepsEveryLatestValueAfterRestart()
    {
        await using var broker = await InProcessBroker.StartAsync(new Dictionary<string, string>
        {
            ["log.cleaner.backoff.ms"] = "200",
        });
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "crashy", 1, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact",
            ["segment.bytes"] = "2048",
            ["min.cleanable.dirty.ratio"] = "0.01",
        });

        // Every pass "crashes" once its first output segment is renamed .swap, before the swap.
        var crashes = 0;
        broker.Server.LogManager.Cleaner!.TestHook = point =>
        {
            if (point == Gregor.Storage.CleanerHookPoints.SwapWritten)
            {
                Interlocked.Increment(ref crashes);
                throw new IOException("simulated crash mid-swap");
            }
        };

        const int keys = 20;
        using (var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(bs)).Build())
        {
            for (var i = 0; i < 600; i++)
            {
                producer.Produce("crashy", new Message<string, string> { Key = $"key-{i % keys}", Value = $"v{i}" });
                if (i % 50 == 49)
                {
                    producer.Flush(TimeSpan.FromSeconds(30));
                }
            }
        }

        await EventuallyAsync(() => Volatile.Read(ref crashes), n => n > 0, TimeSpan.FromSeconds(20));
        Assert.True(crashes > 0);
        var dir = broker.Server.ReplicaManager.GetPartition("crashy", 0)!.Log.Dir;
        await broker.StopAsync();
        Assert.NotEmpty(Directory.GetFiles(dir, "*.swap"));

        await broker.StartAgainAsync();
        Assert.Empty(Directory.GetFiles(dir, "*.swap"));
        var read = Clients.ReadAll(broker.BootstrapServers, "crashy", 1, TimeSpan.FromSeconds(30));
        var offsets = read.Select(r => r.Offset.Value).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
        var latest = new Dictionary<string, string>();
        foreach (var r in read)
        {
            latest[Encoding.UTF8.GetString(r.Message.Key!)] = Encoding.UTF8.GetString(r.Message.Value!);
        }

        Assert.Equal(keys, latest.Count);
        for (var k = 0; k < keys; k++)
        {
            Assert.Equal($"v{600 - keys + k}", latest[$"key-{k}"]);
        }
    }
}
