using Gregor.Broker.Config;
using Gregor.Protocol;

namespace Gregor.Broker.Replica;

/// <summary>The replica settings Kafka names <c>replica.*</c> and <c>num.replica.fetchers</c>.</summary>
internal sealed record ReplicaFetcherConfig(
    int NumFetchers,
    int FetchWaitMaxMs,
    int FetchMinBytes,
    int FetchMaxBytes,
    int FetchResponseMaxBytes,
    int FetchBackoffMs,
    int SocketTimeoutMs,
    long LagTimeMaxMs)
{
    public static ReplicaFetcherConfig From(IReadOnlyDictionary<string, string> properties)
    {
        var config = new BrokerConfig(properties);
        return new ReplicaFetcherConfig(
            Math.Max(1, config.GetInt("num.replica.fetchers")),
            config.GetInt("replica.fetch.wait.max.ms"),
            config.GetInt("replica.fetch.min.bytes"),
            config.GetInt("replica.fetch.max.bytes"),
            config.GetInt("replica.fetch.response.max.bytes"),
            config.GetInt("replica.fetch.backoff.ms"),
            config.GetInt("replica.socket.timeout.ms"),
            config.GetLong("replica.lag.time.max.ms"));
    }
}

public sealed partial class ReplicaManager
{
    private ITimer? _isrTimer;
    private ReplicaFetcherConfig? _replicaConfig;

    private long ReplicaLagTimeMaxMs => _replicaConfig?.LagTimeMaxMs ?? 30_000;

    private void StartReplication(ReplicationSettings settings)
    {
        var config = _replicaConfig = ReplicaFetcherConfig.From(_brokerProperties);
        _fetchers = new ReplicaFetcherManager(this, settings, config, _timeProvider, _logger);

        // Kafka checks for lagging followers every half replica.lag.time.max.ms.
        var period = TimeSpan.FromMilliseconds(Math.Max(1, config.LagTimeMaxMs / 2));
        _isrTimer = _timeProvider.CreateTimer(static state => ((ReplicaManager)state!).MaybeShrinkIsrs(), this, period, period);
    }

    private void StopReplication()
    {
        _isrTimer?.Dispose();
        _isrTimer = null;
        _fetchers?.Dispose();
        _fetchers = null;
    }

    /// <summary>The fetchers following leaders (null on a lone node).</summary>
    internal ReplicaFetcherManager? Fetchers => _fetchers;

    /// <summary>
    /// Kafka's isCaughtUp: a follower is caught up when it has fetched up to the leader's log end,
    /// or did so within replica.lag.time.max.ms.
    /// </summary>
    private bool IsCaughtUp(FollowerState follower, long leaderEndOffset, long nowMs) =>
        follower.LogEndOffset == leaderEndOffset || nowMs - follower.LastCaughtUpTimeMs <= ReplicaLagTimeMaxMs;

    /// <summary>
    /// Moves the leader's high watermark to the smallest log end offset over the (maximal) ISR
    /// and the caught-up followers, then wakes the consumers and acks=all produces it unblocks.
    /// </summary>
    internal void MaybeAdvanceHighWatermark(Partition partition, long appendedBytes = 0)
    {
        bool advanced;
        lock (partition)
        {
            if (!partition.IsLeader)
            {
                return;
            }

            var log = partition.Log;
            var leaderEndOffset = log.LogEndOffset;
            var newHighWatermark = leaderEndOffset;
            var now = NowMs;
            var maximalIsr = partition.MaximalIsr;
            foreach (var (replicaId, follower) in partition.Followers)
            {
                // Kafka counts every ISR member (however far behind) and any caught-up follower
                // about to join, so a replica being added never finds the high watermark past it.
                if (follower.LogEndOffset < newHighWatermark && (maximalIsr.Contains(replicaId) || IsCaughtUp(follower, leaderEndOffset, now)))
                {
                    newHighWatermark = follower.LogEndOffset;
                }
            }

            advanced = newHighWatermark > log.HighWatermark;
            if (advanced)
            {
                log.HighWatermark = newHighWatermark;
            }
        }

        if (advanced)
        {
            // Any positive count wakes consumers waiting for min bytes; they then read what is visible.
            partition.OnHighWatermarkAdvanced(appendedBytes > 0 ? appendedBytes : int.MaxValue);
        }
    }

    /// <summary>
    /// Leader side of a follower's fetch (Kafka's updateFollowerFetchState): its fetch offset is its
    /// log end offset; caught up when it reached our log end, or the log end of its previous fetch.
    /// </summary>
    internal void UpdateFollowerFetchState(Partition partition, int replicaId, long fetchOffset, long leaderEndOffset)
    {
        var now = NowMs;
        lock (partition)
        {
            if (!partition.IsLeader || !partition.Replicas.Contains(replicaId) || replicaId == LocalNodeId)
            {
                return;
            }

            var follower = partition.GetOrAddFollower(replicaId);
            if (fetchOffset >= leaderEndOffset)
            {
                follower.LastCaughtUpTimeMs = Math.Max(follower.LastCaughtUpTimeMs, now);
            }
            else if (fetchOffset >= follower.LastFetchLeaderLogEndOffset)
            {
                follower.LastCaughtUpTimeMs = Math.Max(follower.LastCaughtUpTimeMs, follower.LastFetchTimeMs);
            }

            follower.LogEndOffset = fetchOffset;
            follower.LastFetchLeaderLogEndOffset = leaderEndOffset;
            follower.LastFetchTimeMs = now;
            MaybeExpandIsrLocked(partition, replicaId, follower);
        }

        MaybeAdvanceHighWatermark(partition);
    }

    // Kafka adds a follower back once it has reached the high watermark and the start of the
    // current leader epoch (so it holds everything this leader committed).
    private void MaybeExpandIsrLocked(Partition partition, int replicaId, FollowerState follower)
    {
        if (partition.PendingIsr is not null || partition.Isr.Contains(replicaId) || NowMs < partition.IsrRetryNotBeforeMs)
        {
            return;
        }

        if (follower.LogEndOffset >= partition.HighWatermark && follower.LogEndOffset >= partition.LeaderEpochStartOffset)
        {
            var proposed = partition.Isr.Append(replicaId).ToArray();
            ProposeIsrLocked(partition, proposed);
        }
    }

    /// <summary>The periodic check: ISR members that have not caught up within replica.lag.time.max.ms leave the ISR.</summary>
    internal void MaybeShrinkIsrs()
    {
        if (Replication is null)
        {
            return;
        }

        try
        {
            var now = NowMs;
            foreach (var partition in _partitions.Values)
            {
                if (!partition.IsLeader)
                {
                    continue;
                }

                lock (partition)
                {
                    if (!partition.IsLeader || partition.PendingIsr is not null || now < partition.IsrRetryNotBeforeMs)
                    {
                        continue;
                    }

                    var leaderEndOffset = partition.Log.LogEndOffset;
                    var outOfSync = partition.Isr
                        .Where(id => id != LocalNodeId && (partition.GetFollower(id) is not { } f || !IsCaughtUp(f, leaderEndOffset, now)))
                        .ToList();
                    if (outOfSync.Count > 0)
                    {
                        ProposeIsrLocked(partition, partition.Isr.Except(outOfSync).ToArray());
                    }
                }

                MaybeAdvanceHighWatermark(partition);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A timer callback that throws would take the broker down (DESIGN.md decision 10).
            ReplicaLog.FetcherError(_logger, e, "isr-check", LocalNodeId, e.Message);
        }
    }

    private void ProposeIsrLocked(Partition partition, int[] proposed)
    {
        var channel = Replication?.AlterPartition;
        if (channel is null)
        {
            return;
        }

        partition.PendingIsr = proposed;
        var leaderEpoch = partition.LeaderEpoch;
        var partitionEpoch = partition.PartitionEpoch;
        ReplicaLog.ProposingIsr(_logger, partition.Topic, partition.PartitionIndex, string.Join(",", proposed), string.Join(",", partition.Isr), partitionEpoch);
        _ = Task.Run(async () =>
        {
            AlterPartitionOutcome outcome;
            try
            {
                outcome = await channel.AlterPartitionAsync(partition.Topic, partition.TopicId, partition.PartitionIndex,
                    leaderEpoch, partitionEpoch, proposed, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                outcome = new AlterPartitionOutcome(ErrorCode.RequestTimedOut, null);
                ReplicaLog.FetcherError(_logger, e, "alter-partition", LocalNodeId, e.Message);
            }

            OnAlterPartitionOutcome(partition, leaderEpoch, proposed, outcome);
        });
    }

    private void OnAlterPartitionOutcome(Partition partition, int leaderEpoch, int[] proposed, AlterPartitionOutcome outcome)
    {
        lock (partition)
        {
            if (partition.LeaderEpoch != leaderEpoch || !ReferenceEquals(partition.PendingIsr, proposed))
            {
                // Leadership or metadata moved on while the request was in flight.
                return;
            }

            if (outcome.ErrorCode == ErrorCode.None && outcome.Partition is { } state)
            {
                partition.ApplyIsrChange(state);
            }
            else
            {
                ReplicaLog.AlterPartitionFailed(_logger, partition.Topic, partition.PartitionIndex, outcome.ErrorCode.ToString());
                if (outcome.ErrorCode is ErrorCode.InvalidUpdateVersion or ErrorCode.FencedLeaderEpoch)
                {
                    // Our view is stale: the pending state stays until the metadata brings a newer
                    // partition epoch (Partition.Update clears it), as Kafka waits for the metadata.
                    return;
                }

                // Refused (INELIGIBLE_REPLICA, ...) or unanswered: try again later, not on every fetch.
                partition.PendingIsr = null;
                partition.IsrRetryNotBeforeMs = NowMs + (_replicaConfig?.FetchBackoffMs ?? 1000);
            }
        }

        MaybeAdvanceHighWatermark(partition);
    }

    /// <summary>
    /// acks=all: waits until the high watermark covers <paramref name="requiredOffset"/> (Kafka's
    /// DelayedProduce), the leadership moves, or <paramref name="timeout"/> passes (REQUEST_TIMED_OUT).
    /// </summary>
    public async Task<ErrorCode> WaitForAcksAsync(string topic, int partitionIndex, long requiredOffset, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Replication is null)
        {
            return ErrorCode.None;
        }

        var partition = GetPartition(topic, partitionIndex);
        if (partition is null)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        var waiter = new DelayedProduce(requiredOffset);
        if (!partition.AddProduceWaiter(waiter))
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        try
        {
            if (!partition.IsLeader)
            {
                return ErrorCode.NotLeaderOrFollower;
            }

            if (partition.HighWatermark >= requiredOffset)
            {
                return partition.Isr.Count < partition.Log.Config.MinInSyncReplicas ? ErrorCode.NotEnoughReplicasAfterAppend : ErrorCode.None;
            }

            try
            {
                return await waiter.Completion.WaitAsync(timeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return ErrorCode.RequestTimedOut;
            }
        }
        finally
        {
            partition.RemoveProduceWaiter(waiter);
        }
    }
}
