namespace Gregor.Metadata.Quorum;

/// <summary>The quorum's current leader (null while an election is under way) and its epoch (Raft term).</summary>
public readonly record struct LeaderAndEpoch(int? LeaderId, long Epoch);

/// <summary>One committed entry of the metadata log: its offset, the epoch it was written in, and its bytes.</summary>
public readonly record struct CommittedEntry(long Offset, long Epoch, ReadOnlyMemory<byte> Payload);

/// <summary>The quorum has no leader, or this node is not it: Kafka's NOT_CONTROLLER.</summary>
public sealed class NotControllerException : Exception
{
    public NotControllerException()
    {
    }

    public NotControllerException(string message)
        : base(message)
    {
    }

    public NotControllerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The replicated metadata log (KRaft's __cluster_metadata), behind a seam small enough that a
/// quorum of one and a Raft quorum are interchangeable (DESIGN.md decision 6). Entries are opaque
/// here; <see cref="Records.MetadataRecordSerde"/> gives them meaning. Offsets grow strictly but
/// need not be dense (Raft's own configuration entries take offsets too).
/// </summary>
public interface IMetadataQuorum : IAsyncDisposable
{
    int NodeId { get; }

    LeaderAndEpoch Leader { get; }

    /// <summary>Whether this node is the leader (the active controller) now.</summary>
    bool IsLeader { get; }

    /// <summary>The offset after the last committed entry (0 when nothing is committed).</summary>
    long HighWatermark { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends one entry on the leader and returns its offset once a majority has it.
    /// Throws <see cref="NotControllerException"/> on a non-leader.
    /// </summary>
    ValueTask<long> AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken);

    /// <summary>
    /// On the leader: waits until every entry committed before the call is readable here (a Raft
    /// read barrier), so a newly elected controller decides on the whole log, never a stale prefix.
    /// </summary>
    ValueTask WaitForCommittedAsync(CancellationToken cancellationToken);

    /// <summary>Committed entries with offsets at or after <paramref name="fromOffset"/>, in order, at most <paramref name="maxEntries"/>.</summary>
    IReadOnlyList<CommittedEntry> ReadCommitted(long fromOffset, int maxEntries = int.MaxValue);

    /// <summary>
    /// Drops committed entries below <paramref name="offset"/> once a snapshot covers them, so the
    /// log stays bounded (KRaft deletes segments behind its latest snapshot).
    /// </summary>
    void DeleteBefore(long offset);

    /// <summary>
    /// The first offset <see cref="ReadCommitted"/> can still return (entries below it were deleted
    /// behind a snapshot); an observer fetching below it must load a snapshot first.
    /// </summary>
    long LogStartOffset => 0;

    /// <summary>
    /// A snapshot this member installed instead of replaying the entries it covers (an observer
    /// that fell behind the log start); null on voters, whose snapshots are the controller's own.
    /// </summary>
    Image.MetadataImage? InstalledSnapshot => null;

    /// <summary>Raised after the leader or epoch changes.</summary>
    event Action<LeaderAndEpoch>? LeaderChanged;

    /// <summary>Raised after new entries commit, with the new <see cref="HighWatermark"/>.</summary>
    event Action<long>? Committed;
}
