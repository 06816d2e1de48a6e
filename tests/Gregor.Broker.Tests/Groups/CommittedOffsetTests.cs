using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>Delivery semantics the client builds from commits, and commits that outlive consumers and brokers.</summary>
public class CommittedOffsetTests
{
    private const string Topic = "events";
    private const int Partitions = 3;
    private const int PerPartition = 30;

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task AtLeastOnceRereadsTheUncommittedTailAndSkipsNothing(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, Topic, Partitions);
        await GroupClients.ProduceAsync(broker.BootstrapServers, Topic, Partitions, PerPartition);

        // First consumer: process, then commit every 10th record; it dies after 55 records, 5 of them uncommitted.
        var firstRun = new List<(int Partition, long Offset)>();
        var committed = new Dictionary<int, long>();
        var consumer = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "alo", protocol));
        consumer.Subscribe(Topic);
        while (firstRun.Count < 55)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"only {firstRun.Count} records");
            firstRun.Add((r.Partition.Value, r.Offset.Value));
            if (firstRun.Count % 10 == 0)
            {
                consumer.Commit(r);
                committed[r.Partition.Value] = r.Offset.Value + 1;
            }
        }

        // Killed: no commit on the way out, and its uncommitted records are not lost to the group.
        consumer.Close();
        consumer.Dispose();

        using var second = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "alo", protocol));
        second.Subscribe(Topic);
        var secondRun = ConsumeAll(second, Partitions * PerPartition - committed.Values.Sum());
        foreach (var p in Enumerable.Range(0, Partitions))
        {
            // Each partition resumes exactly at its committed offset (0 without a commit).
            var resumeAt = committed.GetValueOrDefault(p);
            var offsets = secondRun.Where(x => x.Partition == p).Select(x => x.Offset).ToList();
            if (resumeAt == PerPartition)
            {
                Assert.Empty(offsets);
            }
            else
            {
                Assert.Equal(resumeAt, offsets.Min());
            }
        }

        // Every record was processed at least once; the records after the last commit twice.
        var all = firstRun.Concat(secondRun).ToHashSet();
        Assert.Equal(Partitions * PerPartition, all.Count);
        var reread = firstRun.Intersect(secondRun).ToList();
        Assert.NotEmpty(reread);
        Assert.All(reread, x => Assert.True(x.Offset >= committed.GetValueOrDefault(x.Partition)));
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task AtMostOnceNeverReadsARecordTwice(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, Topic, Partitions);
        await GroupClients.ProduceAsync(broker.BootstrapServers, Topic, Partitions, PerPartition);

        // Commit first, then process; the consumer dies between a commit and its processing.
        var processed = new List<(int Partition, long Offset)>();
        var consumer = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "amo", protocol));
        consumer.Subscribe(Topic);
        for (var i = 0; i < 40; i++)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"only {processed.Count} records");
            consumer.Commit([new TopicPartitionOffset(r.TopicPartition, r.Offset + 1)]);
            if (i < 39)
            {
                processed.Add((r.Partition.Value, r.Offset.Value));
            }
        }

        consumer.Close();
        consumer.Dispose();

        using var second = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "amo", protocol));
        second.Subscribe(Topic);
        var secondRun = ConsumeAll(second, Partitions * PerPartition - 40);
        Assert.Empty(processed.Intersect(secondRun));
        Assert.Equal(Partitions * PerPartition - 1, processed.Concat(secondRun).Distinct().Count());
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task CommittedOffsetsSurviveABrokerRestart(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, Topic, Partitions);
        await GroupClients.ProduceAsync(broker.BootstrapServers, Topic, Partitions, PerPartition);
        using (var consumer = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "durable", protocol)))
        {
            consumer.Subscribe(Topic);
            GroupClients.PollUntil([consumer], a => a[0].Count == Partitions, TimeSpan.FromSeconds(30), "all partitions");
            consumer.Commit([.. Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(Topic, p, 7 + p))]);
            consumer.Close();
        }

        await broker.RestartAsync();

        using var resumed = GroupClients.Build(GroupClients.Consumer(broker.BootstrapServers, "durable", protocol));
        var committed = resumed.Committed([.. Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p))], TimeSpan.FromSeconds(20));
        Assert.Equal([7L, 8L, 9L], committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));

        resumed.Subscribe(Topic);
        var records = ConsumeAll(resumed, Partitions * PerPartition - 24);
        foreach (var p in Enumerable.Range(0, Partitions))
        {
            Assert.Equal(7 + p, records.Where(r => r.Partition == p).Min(r => r.Offset));
        }
    }

    [Theory]
    [InlineData(GroupProtocolKind.Classic)]
    [InlineData(GroupProtocolKind.Consumer)]
    public async Task AutoOffsetResetAppliesOnlyToAGroupWithoutCommits(GroupProtocolKind protocol)
    {
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, Topic, 1);
        await GroupClients.ProduceAsync(broker.BootstrapServers, Topic, 1, 10, "old");

        var earliestConfig = GroupClients.Consumer(broker.BootstrapServers, "from-earliest", protocol);
        earliestConfig.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var earliest = GroupClients.Build(earliestConfig);
        earliest.Subscribe(Topic);
        var first = earliest.Consume(TimeSpan.FromSeconds(20));
        Assert.NotNull(first);
        Assert.Equal(0, first.Offset.Value);
        Assert.Equal("old-0-0", first.Message.Value);

        var latestConfig = GroupClients.Consumer(broker.BootstrapServers, "from-latest", protocol);
        latestConfig.AutoOffsetReset = AutoOffsetReset.Latest;
        using var latest = GroupClients.Build(latestConfig);
        latest.Subscribe(Topic);
        GroupClients.PollUntil([latest], a => a[0].Count == 1, TimeSpan.FromSeconds(20), "assigned");

        // Give the client time to resolve "latest" to the log end before the new record arrives.
        Assert.Null(latest.Consume(TimeSpan.FromSeconds(1.5)));

        await GroupClients.ProduceAsync(broker.BootstrapServers, Topic, 1, 1, "new");
        var next = latest.Consume(TimeSpan.FromSeconds(20));
        Assert.NotNull(next);
        Assert.Equal(10, next.Offset.Value);
        Assert.Equal("new-0-0", next.Message.Value);

        // Once the group has committed, the reset policy no longer matters.
        latest.Commit(next);
        latest.Close();
        var again = GroupClients.Consumer(broker.BootstrapServers, "from-latest", protocol);
        again.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var resumed = GroupClients.Build(again);
        resumed.Subscribe(Topic);
        await GroupClients.ProduceAsync(broker.BootstrapServers, Topic, 1, 1, "newer");
        var resumedRecord = resumed.Consume(TimeSpan.FromSeconds(20));
        Assert.NotNull(resumedRecord);
        Assert.Equal(11, resumedRecord.Offset.Value);
    }

    private static List<(int Partition, long Offset)> ConsumeAll(IConsumer<string, string> consumer, long expected)
    {
        var records = new List<(int, long)>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (records.Count < expected)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"read {records.Count} of {expected}");
            }

            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null)
            {
                records.Add((r.Partition.Value, r.Offset.Value));
            }
        }

        // Nothing beyond what was expected arrives.
        Assert.Null(consumer.Consume(TimeSpan.FromMilliseconds(500)));
        return records;
    }
}
