using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

/// <summary>
/// One partition this broker hosts (Kafka's Partition): the local log, the leader epoch it leads
/// in, the ISR and the high watermark. As leader it tracks every follower's log end offset and
/// last caught-up time (from their fetches) and advances the high watermark over the ISR; on a
/// lone node the ISR is {this node}, so the high watermark follows the log end offset.
/// </summary>
public sealed class Partition
{
    private readonly Lock _waitersLock = new();
    private readonly List<DelayedFetch> _waiters = [];
    private readonly List<DelayedProduce> _produceWaiters = [];
    private readonly Dictionary<int, FollowerState> _followers = [];

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

    /// <summary>Bumped by the controller on every change of the partition (KIP-497's partition epoch).</summary>
    public int PartitionEpoch { get; private set; }

    public IReadOnlyList<int> Replicas { get; private set; } = [];

    public IReadOnlyList<int> Isr { get; private set; } = [];

    /// <summary>An ISR change sent to the controller and not yet answered (Kafka's pending ISR state).</summary>
    public IReadOnlyList<int>? PendingIsr { get; internal set; }

    /// <summary>After a refused or failed ISR change, none is proposed again before this time (ms).</summary>
    internal long IsrRetryNotBeforeMs { get; set; }

    /// <summary>Where the current leader epoch begins in this log (the log end offset when this node became leader).</summary>
    public long LeaderEpochStartOffset { get; internal set; } = -1;

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

    /// <summary>
    /// The ISR the high watermark must wait for: the committed ISR plus any replica being added
    /// (Kafka's maximal ISR), so an expansion in flight never lets the high watermark overtake it.
    /// </summary>
    internal IReadOnlyList<int> MaximalIsr => PendingIsr is { } pending ? Isr.Union(pending).ToArray() : Isr;

    internal void Update(PartitionMetadata metadata)
    {
        LeaderId = metadata.LeaderId;
        LeaderEpoch = metadata.LeaderEpoch;
        Replicas = metadata.Replicas;

        // An older partition epoch than the one we already applied (an AlterPartition answer came
        // before the metadata record) must not roll the ISR back.
        if (metadata.PartitionEpoch > PartitionEpoch || Isr.Count == 0)
        {
            PartitionEpoch = metadata.PartitionEpoch;
            Isr = metadata.Isr;
            PendingIsr = null;
        }
    }

    internal void ApplyIsrChange(PartitionMetadata metadata)
    {
        if (metadata.PartitionEpoch >= PartitionEpoch)
        {
            PartitionEpoch = metadata.PartitionEpoch;
            Isr = metadata.Isr;
        }

        PendingIsr = null;
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

        return CheckEpochOnly(currentLeaderEpoch);
    }

    internal ErrorCode CheckEpochOnly(int currentLeaderEpoch)
    {
        if (currentLeaderEpoch < 0 || currentLeaderEpoch == LeaderEpoch)
        {
            return ErrorCode.None;
        }

        return currentLeaderEpoch < LeaderEpoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.UnknownLeaderEpoch;
    }

    internal FollowerState? GetFollower(int replicaId) =>
        _followers.TryGetValue(replicaId, out var state) ? state : null;

    /// <summary>On becoming leader: every follower's position is unknown until it fetches (Kafka resets the replica states).</summary>
    internal void ResetFollowers(long nowMs)
    {
        _followers.Clear();
        foreach (var replica in Replicas)
        {
            if (replica != LocalNodeId)
            {
                // Followers in the ISR get the benefit of the doubt for one lag period.
                _followers[replica] = new FollowerState { LastCaughtUpTimeMs = Isr.Contains(replica) ? nowMs : 0 };
            }
        }
    }

    internal IEnumerable<KeyValuePair<int, FollowerState>> Followers => _followers;

    internal FollowerState GetOrAddFollower(int replicaId)
    {
        if (!_followers.TryGetValue(replicaId, out var state))
        {
            state = _followers[replicaId] = new FollowerState();
        }

        return state;
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

    internal bool AddProduceWaiter(DelayedProduce waiter)
    {
        lock (_waitersLock)
        {
            if (IsDeleted)
            {
                return false;
            }

            _produceWaiters.Add(waiter);
            return true;
        }
    }

    internal void RemoveProduceWaiter(DelayedProduce waiter)
    {
        lock (_waitersLock)
        {
            _produceWaiters.Remove(waiter);
        }
    }

    /// <summary>Wakes fetches parked on this partition once appended bytes are visible (below the high watermark).</summary>
    internal void OnHighWatermarkAdvanced(long bytes)
    {
        DelayedFetch[] waiters;
        DelayedProduce[] produces;
        lock (_waitersLock)
        {
            if (_waiters.Count == 0 && _produceWaiters.Count == 0)
            {
                return;
            }

            waiters = _waiters.Where(w => !w.IsReplicaFetch).ToArray();
            produces = _produceWaiters.ToArray();
        }

        foreach (var waiter in waiters)
        {
            waiter.OnBytesAppended(bytes);
        }

        if (produces.Length > 0)
        {
            var highWatermark = HighWatermark;
            foreach (var produce in produces)
            {
                if (produce.RequiredOffset <= highWatermark)
                {
                    // Kafka's DelayedProduce: the append is committed, but if the ISR shrank below
                    // min.insync.replicas meanwhile the producer is told so.
                    produce.Complete(Isr.Count < Log.Config.MinInSyncReplicas ? ErrorCode.NotEnoughReplicasAfterAppend : ErrorCode.None);
                }
            }
        }
    }

    /// <summary>Wakes followers' fetches parked on this partition after a leader append (they read up to the log end).</summary>
    internal void OnLeaderAppend(long bytes)
    {
        DelayedFetch[] waiters;
        lock (_waitersLock)
        {
            if (_waiters.Count == 0)
            {
                return;
            }

            waiters = _waiters.Where(w => w.IsReplicaFetch).ToArray();
        }

        foreach (var waiter in waiters)
        {
            waiter.OnBytesAppended(bytes);
        }
    }

    /// <summary>Leadership moved away: parked produces answer NOT_LEADER_OR_FOLLOWER and fetches re-read (and see the error).</summary>
    internal void OnLeadershipLost()
    {
        DelayedProduce[] produces;
        lock (_waitersLock)
        {
            produces = _produceWaiters.ToArray();
        }

        foreach (var produce in produces)
        {
            produce.Complete(ErrorCode.NotLeaderOrFollower);
        }

        WakeWaiters();
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
        DelayedProduce[] produces;
        lock (_waitersLock)
        {
            IsDeleted = true;
            waiters = _waiters.ToArray();
            produces = _produceWaiters.ToArray();
            _waiters.Clear();
            _produceWaiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.Complete();
        }

        foreach (var produce in produces)
        {
            produce.Complete(ErrorCode.NotLeaderOrFollower);
        }
    }
}

/// <summary>What a leader knows of one follower (Kafka's Replica state), updated on its fetches.</summary>
internal sealed class FollowerState
{
    public long LogEndOffset { get; set; } = -1;

    public long LastCaughtUpTimeMs { get; set; }

    public long LastFetchTimeMs { get; set; }

    public long LastFetchLeaderLogEndOffset { get; set; } = -1;
}

/// <summary>An acks=all append waiting for the high watermark to reach <see cref="RequiredOffset"/> (Kafka's DelayedProduce).</summary>
internal sealed class DelayedProduce(long requiredOffset)
{
    private readonly TaskCompletionSource<ErrorCode> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long RequiredOffset { get; } = requiredOffset;

    public Task<ErrorCode> Completion => _completion.Task;

    public void Complete(ErrorCode errorCode) => _completion.TrySetResult(errorCode);
}
