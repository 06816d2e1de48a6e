namespace Gregor.Coordinator;

/// <summary>One record of a coordinator partition: Kafka's versioned key and value bytes; a null value is a tombstone.</summary>
public readonly record struct CoordinatorRecord(byte[] Key, byte[]? Value);

/// <summary>
/// The seam between the coordinator and the partitions of <c>__consumer_offsets</c>: the coordinator
/// appends its records to a partition and, when it becomes the partition's coordinator, replays them.
/// </summary>
public interface ICoordinatorLog
{
    /// <summary>Appends the records to the partition as one batch; completes once they are durable as the log defines it.</summary>
    ValueTask AppendAsync(int partition, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Every record of the partition, oldest first.</summary>
    IAsyncEnumerable<CoordinatorRecord> ReadAllAsync(int partition, CancellationToken cancellationToken = default);
}

/// <summary>A coordinator log in memory: for tests and for a broker without <c>__consumer_offsets</c> on disk.</summary>
public sealed class InMemoryCoordinatorLog : ICoordinatorLog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, List<CoordinatorRecord>> _partitions = [];

    public ValueTask AppendAsync(int partition, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_partitions.TryGetValue(partition, out var list))
            {
                list = [];
                _partitions[partition] = list;
            }

            list.AddRange(records);
        }

        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<CoordinatorRecord> ReadAllAsync(int partition, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        CoordinatorRecord[] snapshot;
        lock (_lock)
        {
            snapshot = _partitions.TryGetValue(partition, out var list) ? [.. list] : [];
        }

        foreach (var record in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>A copy of a partition's records, for tests that inspect what the coordinator wrote.</summary>
    public IReadOnlyList<CoordinatorRecord> Records(int partition)
    {
        lock (_lock)
        {
            return _partitions.TryGetValue(partition, out var list) ? [.. list] : [];
        }
    }
}
