using System.Runtime.InteropServices;
using Gregor.Broker.Client;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Gregor.Storage;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Replica;

/// <summary>
/// Kafka's ReplicaFetcherManager: the partitions this node follows, spread over
/// <c>num.replica.fetchers</c> fetchers per leader (Kafka's hash of topic and partition), each
/// with its own connection so one fetcher's long poll never delays another's.
/// </summary>
internal sealed class ReplicaFetcherManager : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(int LeaderId, int FetcherId), ReplicaFetcher> _fetchers = [];
    private readonly ReplicaManager _replicaManager;
    private readonly ReplicationSettings _settings;
    private readonly ReplicaFetcherConfig _config;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private bool _disposed;

    public ReplicaFetcherManager(ReplicaManager replicaManager, ReplicationSettings settings, ReplicaFetcherConfig config, TimeProvider timeProvider, ILogger logger)
    {
        _replicaManager = replicaManager;
        _settings = settings;
        _config = config;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Starts following <paramref name="partition"/>'s current leader (truncating first, KIP-101).</summary>
    public void AddPartition(Partition partition)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            RemoveLocked(partition);
            if (partition.LeaderId < 0)
            {
                // No leader (offline partition): nothing to follow until the metadata names one.
                return;
            }

            var fetcherId = (int)((uint)((31 * StableHash(partition.Topic)) + partition.PartitionIndex) % (uint)_config.NumFetchers);
            var key = (partition.LeaderId, fetcherId);
            if (!_fetchers.TryGetValue(key, out var fetcher))
            {
                fetcher = _fetchers[key] = new ReplicaFetcher(_replicaManager, _settings, _config, _timeProvider, _logger, partition.LeaderId, fetcherId);
                fetcher.Start();
            }

            fetcher.Add(partition);
        }
    }

    public void RemovePartition(Partition partition)
    {
        lock (_lock)
        {
            RemoveLocked(partition);
        }
    }

    /// <summary>The fetch state of a followed partition (tests and DescribeLogDirs-style introspection).</summary>
    public bool IsFollowing(Partition partition)
    {
        lock (_lock)
        {
            return _fetchers.Values.Any(f => f.Contains(partition));
        }
    }

    private void RemoveLocked(Partition partition)
    {
        foreach (var fetcher in _fetchers.Values)
        {
            fetcher.Remove(partition);
        }
    }

    // string.GetHashCode is randomized per process; any stable spread will do.
    private static int StableHash(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }

    public void Dispose()
    {
        ReplicaFetcher[] fetchers;
        lock (_lock)
        {
            _disposed = true;
            fetchers = [.. _fetchers.Values];
            _fetchers.Clear();
        }

        foreach (var fetcher in fetchers)
        {
            fetcher.Dispose();
        }
    }
}

/// <summary>
/// One replica fetcher (Kafka's ReplicaFetcherThread): for its partitions led by one broker it
/// first truncates divergent tails (OffsetForLeaderEpoch), then fetches with this node's replica
/// id and appends the leader's batches unchanged (offsets and epochs kept). The follower's high
/// watermark is the leader's, capped at its own log end. Errors back off replica.fetch.backoff.ms.
/// </summary>
internal sealed class ReplicaFetcher : IDisposable
{
    private const short FetchVersion = 17;
    private const short OffsetForLeaderEpochVersion = 4;

    private readonly Lock _lock = new();
    private readonly Dictionary<Partition, FetchState> _partitions = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ReplicaManager _replicaManager;
    private readonly ReplicationSettings _settings;
    private readonly ReplicaFetcherConfig _config;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly int _leaderId;
    private readonly string _purpose;
    private Task? _loop;

    public ReplicaFetcher(ReplicaManager replicaManager, ReplicationSettings settings, ReplicaFetcherConfig config, TimeProvider timeProvider, ILogger logger, int leaderId, int fetcherId)
    {
        _replicaManager = replicaManager;
        _settings = settings;
        _config = config;
        _timeProvider = timeProvider;
        _logger = logger;
        _leaderId = leaderId;
        _purpose = $"replica-fetcher-{leaderId}-{fetcherId}";
    }

    private sealed class FetchState(int leaderEpoch)
    {
        public int LeaderEpoch { get; } = leaderEpoch;

        public bool Truncating { get; set; } = true;

        public long DelayedUntilMs { get; set; }
    }

    private long NowMs => _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    public void Start() => _loop = Task.Run(RunAsync);

    public void Add(Partition partition)
    {
        lock (_lock)
        {
            _partitions[partition] = new FetchState(partition.LeaderEpoch);
        }

        _wake.Release();
    }

    public void Remove(Partition partition)
    {
        lock (_lock)
        {
            _partitions.Remove(partition);
        }
    }

    public bool Contains(Partition partition)
    {
        lock (_lock)
        {
            return _partitions.ContainsKey(partition);
        }
    }

    private bool IsCurrent(Partition partition, FetchState state)
    {
        lock (_lock)
        {
            return _partitions.TryGetValue(partition, out var current) && ReferenceEquals(current, state);
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                List<(Partition Partition, FetchState State)> ready;
                long nextDue;
                lock (_lock)
                {
                    var now = NowMs;
                    ready = _partitions.Where(kv => kv.Value.DelayedUntilMs <= now).Select(kv => (kv.Key, kv.Value)).ToList();
                    nextDue = _partitions.Count == ready.Count ? long.MaxValue : _partitions.Values.Where(s => s.DelayedUntilMs > now).Min(s => s.DelayedUntilMs) - now;
                }

                if (ready.Count == 0)
                {
                    var wait = nextDue == long.MaxValue ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(Math.Max(1, nextDue));
                    await _wake.WaitAsync(wait, token).ConfigureAwait(false);
                    continue;
                }

                if (LeaderEndpoint() is not { } endpoint)
                {
                    Backoff(ready);
                    continue;
                }

                var truncating = ready.Where(p => p.State.Truncating).ToList();
                if (truncating.Count > 0)
                {
                    await TruncateAsync(endpoint, truncating, token).ConfigureAwait(false);
                    continue;
                }

                await FetchAsync(endpoint, ready, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                ReplicaLog.FetcherError(_logger, e is NodeConnectionException ? null : e, _purpose, _leaderId, e.Message);
                List<(Partition, FetchState)> all;
                lock (_lock)
                {
                    all = _partitions.Select(kv => (kv.Key, kv.Value)).ToList();
                }

                Backoff(all);
            }
        }
    }

    private (string Host, int Port)? LeaderEndpoint()
    {
        foreach (var broker in _settings.Metadata.AliveBrokers)
        {
            if (broker.NodeId == _leaderId && broker.EndpointFor(_settings.InterBrokerListenerName) is { } endpoint)
            {
                return (endpoint.Host, endpoint.Port);
            }
        }

        return null;
    }

    private void Backoff(IEnumerable<(Partition Partition, FetchState State)> partitions)
    {
        var until = NowMs + _config.FetchBackoffMs;
        lock (_lock)
        {
            foreach (var (_, state) in partitions)
            {
                state.DelayedUntilMs = until;
            }
        }
    }

    private TimeSpan RequestTimeout => TimeSpan.FromMilliseconds(Math.Max(_config.SocketTimeoutMs, _config.FetchWaitMaxMs + 1000));

    /// <summary>
    /// KIP-101/279: asks the leader where our latest epoch ends in its log and truncates what we
    /// hold beyond it; repeated (with the next lower local epoch) until the logs agree.
    /// </summary>
    private async Task TruncateAsync((string Host, int Port) endpoint, List<(Partition Partition, FetchState State)> partitions, CancellationToken token)
    {
        var request = new OffsetForLeaderEpochRequest { ReplicaId = _replicaManager.LocalNodeId };
        var asked = new Dictionary<(string, int), (Partition Partition, FetchState State, int Epoch)>();
        foreach (var (partition, state) in partitions)
        {
            var latestEpoch = partition.Log.LeaderEpochCache.LatestEpoch;
            if (latestEpoch < 0)
            {
                // No epoch history (an empty log): Kafka falls back to the high watermark.
                TruncateLocked(partition, state, partition.HighWatermark, -1, -1);
                continue;
            }

            var topic = request.Topics.FirstOrDefault(t => t.Topic == partition.Topic);
            if (topic is null)
            {
                topic = new OffsetForLeaderEpochRequest.OffsetForLeaderTopic { Topic = partition.Topic };
                request.Topics.Add(topic);
            }

            topic.Partitions.Add(new OffsetForLeaderEpochRequest.OffsetForLeaderPartition
            {
                Partition = partition.PartitionIndex,
                CurrentLeaderEpoch = state.LeaderEpoch,
                LeaderEpoch = latestEpoch,
            });
            asked[(partition.Topic, partition.PartitionIndex)] = (partition, state, latestEpoch);
        }

        if (asked.Count == 0)
        {
            return;
        }

        var response = await _settings.Clients.SendAsync<OffsetForLeaderEpochResponse>(
            endpoint.Host, endpoint.Port, _purpose, request, OffsetForLeaderEpochVersion, RequestTimeout, token).ConfigureAwait(false);
        var backoff = new List<(Partition, FetchState)>();
        foreach (var topic in response.Topics)
        {
            foreach (var result in topic.Partitions)
            {
                if (!asked.Remove((topic.Topic, result.Partition), out var entry))
                {
                    continue;
                }

                var error = (ErrorCode)result.ErrorCode;
                if (error != ErrorCode.None)
                {
                    // FENCED/UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER: the metadata will move us on.
                    backoff.Add((entry.Partition, entry.State));
                    continue;
                }

                var (partition, state, _) = entry;
                if (result.EndOffset < 0)
                {
                    TruncateLocked(partition, state, partition.HighWatermark, result.LeaderEpoch, result.EndOffset);
                    continue;
                }

                // Kafka's getOffsetTruncationState: compare the leader's answer with where that epoch
                // ends here; if the leader's epoch is one we never had, cut back to our own end of the
                // largest epoch below it and ask again.
                var logEndOffset = partition.Log.LogEndOffset;
                var (localEpoch, localEndOffset) = partition.Log.LeaderEpochCache.EndOffsetFor(result.LeaderEpoch, logEndOffset);
                long truncateTo;
                var complete = true;
                if (localEndOffset < 0)
                {
                    truncateTo = Math.Min(result.EndOffset, logEndOffset);
                }
                else if (localEpoch != result.LeaderEpoch)
                {
                    truncateTo = Math.Min(localEndOffset, logEndOffset);
                    complete = false;
                }
                else
                {
                    truncateTo = Math.Min(result.EndOffset, localEndOffset);
                }

                TruncateLocked(partition, state, truncateTo, result.LeaderEpoch, result.EndOffset, complete);
            }
        }

        foreach (var (partition, state, _) in asked.Values)
        {
            backoff.Add((partition, state));
        }

        Backoff(backoff);
    }

    private void TruncateLocked(Partition partition, FetchState state, long offset, int leaderEpoch, long endOffset, bool complete = true)
    {
        lock (partition)
        {
            if (!IsCurrent(partition, state) || partition.IsLeader || partition.LeaderEpoch != state.LeaderEpoch)
            {
                return;
            }

            if (offset < partition.Log.LogEndOffset)
            {
                ReplicaLog.TruncatingFollower(_logger, partition.Topic, partition.PartitionIndex, offset, _leaderId, leaderEpoch, endOffset);
                partition.Log.Truncate(Math.Max(offset, 0));
            }

            state.Truncating = !complete;
        }
    }

    private async Task FetchAsync((string Host, int Port) endpoint, List<(Partition Partition, FetchState State)> partitions, CancellationToken token)
    {
        var localId = _replicaManager.LocalNodeId;
        var request = new FetchRequest
        {
            // From v15 the replica id travels in ReplicaState (KIP-903); the top-level field must stay default.
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = localId, ReplicaEpoch = -1 },
            MaxWaitMs = _config.FetchWaitMaxMs,
            MinBytes = _config.FetchMinBytes,
            MaxBytes = _config.FetchResponseMaxBytes,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = -1,
        };
        var byTopicId = new Dictionary<(Uuid, int), (Partition Partition, FetchState State, long FetchOffset)>();
        foreach (var (partition, state) in partitions)
        {
            var topic = request.Topics.FirstOrDefault(t => t.TopicId == partition.TopicId);
            if (topic is null)
            {
                topic = new FetchRequest.FetchTopic { Topic = partition.Topic, TopicId = partition.TopicId };
                request.Topics.Add(topic);
            }

            var fetchOffset = partition.Log.LogEndOffset;
            topic.Partitions.Add(new FetchRequest.FetchPartition
            {
                Partition = partition.PartitionIndex,
                CurrentLeaderEpoch = state.LeaderEpoch,
                FetchOffset = fetchOffset,
                LastFetchedEpoch = -1,
                LogStartOffset = partition.Log.LogStartOffset,
                PartitionMaxBytes = _config.FetchMaxBytes,
            });
            byTopicId[(partition.TopicId, partition.PartitionIndex)] = (partition, state, fetchOffset);
        }

        var response = await _settings.Clients.SendAsync<FetchResponse>(
            endpoint.Host, endpoint.Port, _purpose, request, FetchVersion, RequestTimeout, token).ConfigureAwait(false);
        var backoff = new List<(Partition, FetchState)>();
        if (response.ErrorCode != 0)
        {
            Backoff(partitions);
            return;
        }

        foreach (var topic in response.Responses)
        {
            foreach (var data in topic.Partitions)
            {
                if (!byTopicId.TryGetValue((topic.TopicId, data.PartitionIndex), out var entry))
                {
                    continue;
                }

                var (partition, state, fetchOffset) = entry;
                var error = (ErrorCode)data.ErrorCode;
                switch (error)
                {
                    case ErrorCode.None:
                        if (!ProcessPartitionData(partition, state, fetchOffset, data))
                        {
                            backoff.Add((partition, state));
                        }

                        break;
                    case ErrorCode.OffsetOutOfRange:
                        // Our log end is beyond the leader's (an unnoticed divergence) or below its
                        // start (retention): truncate again; a log below the start starts over.
                        HandleOutOfRange(partition, state, data);
                        break;
                    default:
                        backoff.Add((partition, state));
                        break;
                }
            }
        }

        Backoff(backoff);
    }

    private bool ProcessPartitionData(Partition partition, FetchState state, long fetchOffset, FetchResponse.PartitionData data)
    {
        lock (partition)
        {
            if (!IsCurrent(partition, state) || partition.IsLeader || partition.LeaderEpoch != state.LeaderEpoch || partition.IsDeleted)
            {
                return true;
            }

            var log = partition.Log;
            if (log.LogEndOffset != fetchOffset)
            {
                // Truncated meanwhile: the next fetch starts from the new end.
                return true;
            }

            if (data.Records is { Length: > 0 } records)
            {
                if (log.LogEndOffset == log.LogStartOffset && records.Length >= 8 && RecordBatch.BaseOffset(records.Span) is var firstOffset && firstOffset < log.LogEndOffset)
                {
                    // An empty log that starts inside the leader's first batch (the leader's log start
                    // is mid-batch after DeleteRecords): start at the batch instead, as Kafka does on
                    // UnexpectedAppendOffsetException.
                    log.TruncateFullyAndStartAt(firstOffset);
                }

                var info = log.Append(MemoryMarshal.AsMemory(records), state.LeaderEpoch, AppendOrigin.Replication);
                if (info.Error != ErrorCode.None)
                {
                    ReplicaLog.FollowerAppendFailed(_logger, partition.Topic, partition.PartitionIndex, info.Error.ToString(), info.ErrorMessage);
                    return false;
                }
            }

            // The follower's high watermark is the leader's, never above what we hold.
            log.HighWatermark = Math.Min(data.HighWatermark, log.LogEndOffset);

            // DeleteRecords and retention on the leader move the followers' log start too (Kafka's
            // maybeIncrementLogStartOffset), within what the follower has committed.
            if (data.LogStartOffset > log.LogStartOffset)
            {
                log.DeleteRecordsBefore(Math.Min(data.LogStartOffset, log.HighWatermark));
            }

            return true;
        }
    }

    private void HandleOutOfRange(Partition partition, FetchState state, FetchResponse.PartitionData data)
    {
        lock (partition)
        {
            if (!IsCurrent(partition, state) || partition.IsLeader || partition.LeaderEpoch != state.LeaderEpoch)
            {
                return;
            }

            if (data.LogStartOffset > partition.Log.LogEndOffset)
            {
                partition.Log.TruncateFullyAndStartAt(data.LogStartOffset);
            }
            else
            {
                state.Truncating = true;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
        _wake.Dispose();
    }
}
