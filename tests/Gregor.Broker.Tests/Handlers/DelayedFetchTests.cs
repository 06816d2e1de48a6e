using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Storage;
using Gregor.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>The replica manager's long-poll on an injected clock: max wait, min bytes, wake-ups.</summary>
public sealed class DelayedFetchTests : IDisposable
{
    private readonly TempDirectory _directory = new("gregor-delayed-fetch");
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _logManager;
    private readonly ReplicaManager _replicaManager;

    public DelayedFetchTests()
    {
        _logManager = new LogManager(new LogManagerOptions { LogDirs = [_directory.Path], NodeId = 1 }, _time, NullLoggerFactory.Instance);
        _logManager.Startup();
        _replicaManager = new ReplicaManager(1, _logManager, new Dictionary<string, string>(), _time);
        _replicaManager.ApplyTopic(new TopicMetadata("t", Uuid.NewRandom(), [new PartitionMetadata(0, 1, 0, 0, [1], [1])], new Dictionary<string, string>()));
    }

    public void Dispose()
    {
        _replicaManager.Dispose();
        _logManager.Shutdown();
        _directory.Dispose();
    }

    private static FetchPartitionRequest[] FromZero() =>
        [new FetchPartitionRequest { Topic = "t", Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }];

    private ValueTask<FetchPartitionResult[]> Fetch(int minBytes, TimeSpan maxWait) =>
        _replicaManager.FetchAsync(new FetchParams(-1, maxWait, minBytes, int.MaxValue, 0), FromZero(), CancellationToken.None);

    private async Task<bool> CompletesSoon(Task task)
    {
        // Completions run asynchronously; give them a moment of real time, never the logic's clock.
        return await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(5))) == task;
    }

    [Fact]
    public async Task MaxWaitIsMeasuredOnTheInjectedClock()
    {
        var fetch = Fetch(1, TimeSpan.FromSeconds(30)).AsTask();
        _time.Advance(TimeSpan.FromSeconds(29.9));
        await Task.Delay(100);
        Assert.False(fetch.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(await CompletesSoon(fetch));
        var result = Assert.Single(await fetch);
        Assert.Equal(ErrorCode.None, result.ErrorCode);
        Assert.Equal(0, result.Records.Length);
    }

    [Fact]
    public async Task AnAppendReachingMinBytesCompletesTheFetch()
    {
        var batch = Requests.Batch(5);
        var fetch = Fetch(batch.Length * 2, TimeSpan.FromMinutes(5)).AsTask();
        Assert.Equal(ErrorCode.None, _replicaManager.AppendRecords("t", 0, Requests.Batch(5), 1).ErrorCode);
        await Task.Delay(100);
        Assert.False(fetch.IsCompleted, "One batch is below min bytes.");

        Assert.Equal(ErrorCode.None, _replicaManager.AppendRecords("t", 0, Requests.Batch(5), 1).ErrorCode);
        Assert.True(await CompletesSoon(fetch));
        var result = Assert.Single(await fetch);
        Assert.Equal(10, result.HighWatermark);
        Assert.Equal(batch.Length * 2, result.Records.Length);
        result.Owner?.Dispose();
    }

    [Fact]
    public async Task DeletingTheTopicAnswersParkedFetches()
    {
        var metadata = new TopicMetadata("t", Uuid.NewRandom(), [new PartitionMetadata(0, 1, 0, 0, [1], [1])], new Dictionary<string, string>());
        var fetch = Fetch(1, TimeSpan.FromMinutes(5)).AsTask();
        await Task.Delay(50);
        _replicaManager.RemoveTopic(metadata);
        Assert.True(await CompletesSoon(fetch));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Assert.Single(await fetch).ErrorCode);
    }

    [Fact]
    public async Task ShutdownAnswersParkedFetchesAndStopsParking()
    {
        var fetch = Fetch(1, TimeSpan.FromMinutes(5)).AsTask();
        await Task.Delay(50);
        _replicaManager.WakeAllWaiters();
        Assert.True(await CompletesSoon(fetch));
        Assert.True(await CompletesSoon(Fetch(1, TimeSpan.FromMinutes(5)).AsTask()));
    }
}
