using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

/// <summary>
/// One partition this broker hosts (Kafka's Partition): the local log, the leader epoch it leads
/// in, the ISR and the high watermark. On a single node the ISR is {this node}, so the high
/// watermark follows the log end offset; replication later advances it over the ISR instead.
/// </summary>
public sealed class Partition
{
    private readonly Lock _waitersLock = new();
    private readonly List<DelayedFetch> _waiters = [];

    internal Partition(string topic, int partitionIndex, Uuid topicId, Log log, PartitionMetadata metadata, int localNodeId)
    {
        Topic = topic;
        PartitionIndex = partitionIndex;
        TopicId = topicId;
        Log = log;
        LocalNodeId = localNodeId;
        Update(metadata);
    }

    public string Topic { get; }

    public int PartitionIndex { get; }

    public Uuid TopicId { get; }

    public Log Log { get; }

    public int LocalNodeId { get; }

    public int LeaderId { get; private set; }

    public int LeaderEpoch { get; private set; }

    public IReadOnlyList<int> Isr { get; private set; } = [];

    public bool IsLeader => LeaderId == LocalNodeId;

    public long HighWatermark => Log.HighWatermark;

    /// <summary>The high watermark, held back to the first offset of the oldest open transaction.</summary>
    public long LastStableOffset
    {
        get
        {
            var highWatermark = Log.HighWatermark;
            var firstUnstable = Log.FirstUnstableOffset;
            return firstUnstable >= 0 ? Math.Min(firstUnstable, highWatermark) : highWatermark;
        }
    }

    public long LogStartOffset => Log.LogStartOffset;

    public long LogEndOffset => Log.LogEndOffset;

    public bool IsDeleted { get; private set; }

    internal void Update(PartitionMetadata metadata)
    {
        LeaderId = metadata.LeaderId;
        LeaderEpoch = metadata.LeaderEpoch;
        Isr = metadata.Isr;
    }

    /// <summary>
    /// Kafka's leader epoch check for fetch and list-offsets (KIP-320): a client that knows an
    /// older epoch is fenced, one that knows a newer epoch than ours has seen a leader we haven't.
    /// </summary>
    public ErrorCode CheckLeaderEpoch(int currentLeaderEpoch)
    {
        if (!IsLeader)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        if (currentLeaderEpoch < 0 || currentLeaderEpoch == LeaderEpoch)
        {
            return ErrorCode.None;
        }

        return currentLeaderEpoch < LeaderEpoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.UnknownLeaderEpoch;
    }

    internal void AddWaiter(DelayedFetch waiter)
    {
        lock (_waitersLock)
        {
            if (IsDeleted)
            {
                waiter.Complete();
                return;
            }

            _waiters.Add(waiter);
        }
    }

    internal void RemoveWaiter(DelayedFetch waiter)
    {
        lock (_waitersLock)
        {
            _waiters.Remove(waiter);
        }
    }

    /// <summary>Wakes fetches parked on this partition once appended bytes are visible (below the high watermark).</summary>
    internal void OnHighWatermarkAdvanced(long bytes)
    {
        DelayedFetch[] waiters;
        lock (_waitersLock)
        {
            if (_waiters.Count == 0)
            {
                return;
            }

            waiters = _waiters.ToArray();
        }

        foreach (var waiter in waiters)
        {
            waiter.OnBytesAppended(bytes);
        }
    }

    /// <summary>Completes every parked fetch (shutdown): each answers with what it can read now.</summary>
    internal void WakeWaiters()
    {
        DelayedFetch[] waiters;
        lock (_waitersLock)
        {
            waiters = _waiters.ToArray();
        }

        foreach (var waiter in waiters)
        {
            waiter.Complete();
        }
    }

    internal void MarkDeleted()
    {
        DelayedFetch[] waiters;
        lock (_waitersLock)
        {
            IsDeleted = true;
            waiters = _waiters.ToArray();
            _waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.Complete();
        }
    }
}
