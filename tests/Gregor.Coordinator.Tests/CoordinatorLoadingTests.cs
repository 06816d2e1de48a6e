using System.Runtime.CompilerServices;
using Gregor.Protocol;

namespace Gregor.Coordinator.Tests;

public sealed class CoordinatorLoadingTests
{
    /// <summary>A log whose replay waits until the test opens the gate.</summary>
    private sealed class GatedLog : ICoordinatorLog
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask AppendAsync(int partition, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public async IAsyncEnumerable<CoordinatorRecord> ReadAllAsync(int partition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Gate.Task.ConfigureAwait(false);
            yield break;
        }
    }

    [Fact]
    public async Task Groups_get_load_in_progress_while_their_partition_loads_and_not_coordinator_elsewhere()
    {
        var log = new GatedLog();
        using var coordinator = new GroupCoordinator(new GroupCoordinatorConfig(), log, new StaticTopicMetadataSource(), new ManualTimeProvider());
        var partition = coordinator.PartitionFor("my-group");
        Assert.Equal(12, partition);
        Assert.Equal(ErrorCode.NotCoordinator, coordinator.FetchOffsets(new OffsetFetchInput("my-group", null)).Error);

        var load = coordinator.LoadPartitionAsync(partition);
        Assert.False(load.IsCompleted);
        Assert.False(coordinator.IsPartitionLoaded(partition));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, coordinator.FetchOffsets(new OffsetFetchInput("my-group", null)).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, (await coordinator.JoinGroupAsync(Harness.Join("my-group"))).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, coordinator.ListGroups().Error);

        log.Gate.SetResult();
        await load;
        Assert.True(coordinator.IsPartitionLoaded(partition));
        Assert.Equal(ErrorCode.None, coordinator.FetchOffsets(new OffsetFetchInput("my-group", null)).Error);

        coordinator.UnloadPartition(partition);
        Assert.Equal(ErrorCode.NotCoordinator, coordinator.FetchOffsets(new OffsetFetchInput("my-group", null)).Error);
    }

    [Theory]
    [InlineData("hello", 99162322, 22)]
    [InlineData("polygenelubricants", int.MinValue, 0)]
    [InlineData("my-group", -1906497762, 12)]
    [InlineData("console-consumer-12345", 158455506, 6)]
    [InlineData("", 0, 0)]
    public void Group_partition_is_kafkas_abs_of_java_string_hash_modulo_partitions(string groupId, int javaHash, int partition)
    {
        Assert.Equal(javaHash, GroupPartitioner.JavaStringHashCode(groupId));
        Assert.Equal(partition, GroupPartitioner.PartitionFor(groupId, 50));
    }
}
