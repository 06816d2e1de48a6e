namespace Gregor.Coordinator;

/// <summary>
/// One record of a coordinator partition: Kafka's versioned key and value bytes; a null value is a
/// tombstone. A record read from a transactional batch carries its producer id (TxnOffsetCommit's
/// pending offsets); a transaction marker (control batch) is a record with <see cref="Marker"/> set.
/// </summary>
public readonly record struct CoordinatorRecord(byte[] Key, byte[]? Value)
{
    /// <summary>The producer id of the transactional batch the record belongs to; -1 outside transactions.</summary>
    public long ProducerId { get; init; } = -1;

    /// <summary>Set on a transaction marker: the end of <see cref="ProducerId"/>'s transaction in this partition.</summary>
    public TransactionResult? Marker { get; init; }

    /// <summary>A COMMIT or ABORT marker of <paramref name="producerId"/>'s transaction.</summary>
    public static CoordinatorRecord EndTransaction(long producerId, TransactionResult result) =>
        new([], null) { ProducerId = producerId, Marker = result };
}

/// <summary>How a transaction ended (Kafka's TransactionResult; the control record types COMMIT and ABORT).</summary>
public enum TransactionResult
{
    Abort,
    Commit,
}

/// <summary>
/// The seam between the coordinator and the partitions of <c>__consumer_offsets</c>: the coordinator
/// appends its records to a partition and, when it becomes the partition's coordinator, replays them.
/// </summary>
public interface ICoordinatorLog
{
    /// <summary>Appends the records to the partition as one batch; completes once they are durable as the log defines it.</summary>
    ValueTask AppendAsync(int partition, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends the records as one transactional batch of the producer (TxnOffsetCommit): they stay
    /// pending until the transaction coordinator writes the producer's COMMIT or ABORT marker to the
    /// partition. The default tags the records with the producer id, for logs kept in memory.
    /// </summary>
    ValueTask AppendTransactionalAsync(int partition, long producerId, short producerEpoch, IReadOnlyList<CoordinatorRecord> records, CancellationToken cancellationToken = default) =>
        AppendAsync(partition, [.. records.Select(r => r with { ProducerId = producerId })], cancellationToken);

    /// <summary>Every record of the partition, oldest first, transaction markers included.</summary>
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
