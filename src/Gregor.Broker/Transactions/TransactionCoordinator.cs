using Gregor.Broker.Metadata;
using Gregor.Broker.Producer;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Transactions;

/// <summary>Kafka's TransactionState names and ids (the TransactionStatus of <c>__transaction_state</c> values).</summary>
public enum TransactionState : sbyte
{
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

/// <summary>One transactional id's state (Kafka's TransactionMetadata).</summary>
public sealed class TransactionMetadata
{
    internal TransactionMetadata(string transactionalId)
    {
        TransactionalId = transactionalId;
    }

    public string TransactionalId { get; }

    public long ProducerId { get; internal set; }

    public short ProducerEpoch { get; internal set; }

    public int TimeoutMs { get; internal set; }

    public TransactionState State { get; internal set; }

    public long StartTimestamp { get; internal set; } = -1;

    /// <summary>When the state last changed (written to <c>__transaction_state</c>); transactional.id.expiration.ms counts from here.</summary>
    public long LastUpdateTimestamp { get; internal set; } = -1;

    /// <summary>The partitions of the open transaction; AddOffsetsToTxn adds the group's <c>__consumer_offsets</c> partition, as Kafka does.</summary>
    internal HashSet<(string Topic, int Partition)> Partitions { get; } = [];

    /// <summary>Partitions whose marker a leader has not taken yet (the transaction stays in its Prepare state meanwhile).</summary>
    internal HashSet<(string Topic, int Partition)>? PendingMarkers { get; set; }
}

/// <summary>DescribeTransactions' and ListTransactions' view of one transactional id.</summary>
public sealed record TransactionDescription(
    string TransactionalId,
    long ProducerId,
    short ProducerEpoch,
    int TimeoutMs,
    TransactionState State,
    long StartTimestamp,
    IReadOnlyList<(string Topic, int Partition)> Partitions);

/// <summary>
/// The transaction coordinator for a single node: transactional id → producer id and epoch, the
/// partitions of the open transaction, commit/abort by writing markers to every partition, and
/// abort of transactions open past their timeout (with an epoch bump that fences the producer).
/// Every state change is written to <c>__transaction_state</c> (markers are written between the
/// Prepare and Complete records, as Kafka does); at start-up the state is replayed and prepared
/// transactions are completed. As in Kafka, an ongoing transaction survives the restart (its
/// producer may carry on and commit, its TxnOffsetCommit offsets wait in <c>__consumer_offsets</c>)
/// until it ends, times out or a new producer instance fences it; transactions still open in
/// partition logs that no coordinator record names are aborted, so nothing holds the last stable
/// offset back forever. Markers go to partition leaders through an <see cref="ITxnMarkerChannel"/>.
/// </summary>
public sealed class TransactionCoordinator : IDisposable
{
    private const int CoordinatorEpoch = 0;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TransactionMetadata> _transactions = new(StringComparer.Ordinal);
    private readonly ProducerIdManager _producerIds;
    private readonly ReplicaManager _replicaManager;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly ITimer _expirationTimer;
    private readonly ITransactionStateLog? _stateLog;
    private readonly ITxnMarkerChannel _markerChannel;
    private readonly Func<string, int, int> _leaderOf;
    private readonly Func<string, int, bool> _partitionExists;
    private readonly int _clusterNodeId;
    private bool _disposed;

    /// <summary>In a cluster: the <c>__transaction_state</c> partitions this node leads and has loaded, with the leader epoch loaded in.</summary>
    private readonly Dictionary<int, int> _loadedPartitions = [];

    /// <param name="markerChannel">Where markers are written; by default appended locally.</param>
    /// <param name="leaderOf">The leader of a partition (node id), to send each node its markers; by default this node (-1).</param>
    /// <param name="partitionExists">
    /// Whether a partition exists in the cluster (AddPartitionsToTxn accepts any partition the cluster
    /// metadata knows, wherever its leader is, as Kafka does); by default a live local replica.
    /// </param>
    public TransactionCoordinator(ProducerIdManager producerIds, ReplicaManager replicaManager, TimeProvider time, ILogger logger,
        int transactionMaxTimeoutMs = 900_000, int abortTimedOutTransactionsIntervalMs = 10_000, ITransactionStateLog? stateLog = null,
        ITxnMarkerChannel? markerChannel = null, Func<string, int, int>? leaderOf = null,
        long transactionalIdExpirationMs = 604_800_000, long removeExpiredTransactionalIdsIntervalMs = 3_600_000,
        int clusterNodeId = -1, Func<string, int, bool>? partitionExists = null)
    {
        _clusterNodeId = clusterNodeId;
        TransactionalIdExpirationMs = transactionalIdExpirationMs;
        _producerIds = producerIds;
        _replicaManager = replicaManager;
        _markerChannel = markerChannel ?? new LocalTxnMarkerChannel(replicaManager);
        _leaderOf = leaderOf ?? ((_, _) => -1);
        _partitionExists = partitionExists ?? ((topic, partition) => replicaManager.GetPartition(topic, partition) is { IsDeleted: false });
        _time = time;
        _logger = logger;
        _stateLog = stateLog;
        TransactionMaxTimeoutMs = transactionMaxTimeoutMs;
        if (!IsClustered)
        {
            lock (_lock)
            {
                LoadState();
            }

            // Only on a lone node, which coordinates every transaction: in a cluster an open
            // transaction in a local log may belong to another broker's coordinator.
            AbortOpenTransactionsLeftInLogs();
        }

        var interval = TimeSpan.FromMilliseconds(abortTimedOutTransactionsIntervalMs);
        _timer = time.CreateTimer(_ => AbortTimedOutTransactions(), null, interval, interval);
        var expirationInterval = TimeSpan.FromMilliseconds(removeExpiredTransactionalIdsIntervalMs);
        _expirationTimer = time.CreateTimer(_ => RemoveExpiredTransactionalIds(), null, expirationInterval, expirationInterval);
    }

    public int TransactionMaxTimeoutMs { get; }

    /// <summary>Whether this coordinator is one of several (it then owns only the partitions it leads).</summary>
    public bool IsClustered => _clusterNodeId >= 0;

    /// <summary>
    /// In a cluster, whether this node coordinates <paramref name="transactionalId"/> now: it leads
    /// the id's <c>__transaction_state</c> partition and has loaded it. A lone node coordinates all.
    /// </summary>
    public bool Coordinates(string transactionalId)
    {
        lock (_lock)
        {
            return OwnsLocked(transactionalId);
        }
    }

    private bool OwnsLocked(string transactionalId)
    {
        if (!IsClustered || _stateLog?.PartitionOf(transactionalId) is not { } partition)
        {
            return true;
        }

        return _loadedPartitions.ContainsKey(partition);
    }

    /// <summary>
    /// Follows the leadership of <c>__transaction_state</c> in a cluster (Kafka's immigration and
    /// emigration): a partition this node starts leading is loaded from its local replica and the
    /// transactions it left prepared are completed; a partition it stops leading is dropped, so
    /// its ids answer NOT_COORDINATOR and clients find the new leader.
    /// </summary>
    public void OnTransactionStateChanged(TopicMetadata? removed, TopicMetadata? added)
    {
        if (!IsClustered || (added ?? removed)?.Name != TopicNames.TransactionStateTopicName)
        {
            return;
        }

        // Off the metadata thread (completing a prepared transaction writes markers over the
        // network, and a write in progress may be holding the lock); the work converges on the
        // replica manager's current leaderships, so the order of these runs does not matter.
        _ = Task.Run(ReconcileLeadership);
    }

    private void ReconcileLeadership()
    {
        try
        {
            lock (_lock)
            {
                foreach (var (index, epoch) in _loadedPartitions.ToList())
                {
                    if (_replicaManager.GetPartition(TopicNames.TransactionStateTopicName, index) is not { IsLeader: true, IsDeleted: false } partition
                        || partition.LeaderEpoch != epoch)
                    {
                        _loadedPartitions.Remove(index);
                        foreach (var id in _transactions.Keys.Where(id => _stateLog?.PartitionOf(id) == index).ToList())
                        {
                            _transactions.Remove(id);
                        }
                    }
                }

                foreach (var partition in _replicaManager.Partitions)
                {
                    if (partition.Topic == TopicNames.TransactionStateTopicName && partition.IsLeader && !partition.IsDeleted
                        && !_loadedPartitions.ContainsKey(partition.PartitionIndex))
                    {
                        LoadPartitionLocked(partition.PartitionIndex, partition.LeaderEpoch);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or KafkaApiException or InvalidOperationException or ObjectDisposedException)
        {
            BrokerLog.TxnAbortFailed(_logger, e);
        }
    }

    private void LoadPartitionLocked(int index, int leaderEpoch)
    {
        var latest = new Dictionary<string, TransactionLogValue?>(StringComparer.Ordinal);
        foreach (var (id, value) in _stateLog!.ReadPartition(index))
        {
            latest[id] = value;
        }

        var loaded = new List<TransactionMetadata>();
        foreach (var (id, value) in latest)
        {
            if (value is null)
            {
                _transactions.Remove(id);
                continue;
            }

            var txn = FromLogValue(id, value);
            _transactions[id] = txn;
            loaded.Add(txn);
        }

        _loadedPartitions[index] = leaderEpoch;
        foreach (var txn in loaded)
        {
            if (txn.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort)
            {
                CompleteLocked(txn, commit: txn.State == TransactionState.PrepareCommit);
            }
        }

        TransactionLog.PartitionLoaded(_logger, index, leaderEpoch, loaded.Count);
    }

    /// <summary><c>transactional.id.expiration.ms</c>: how long a transactional id may stay idle with no open transaction before it is forgotten.</summary>
    public long TransactionalIdExpirationMs { get; }

    private void LoadState()
    {
        if (_stateLog is null)
        {
            return;
        }

        var latest = new Dictionary<string, TransactionLogValue?>(StringComparer.Ordinal);
        foreach (var (id, value) in _stateLog.ReadAll())
        {
            latest[id] = value;
        }

        foreach (var (id, value) in latest)
        {
            if (value is null)
            {
                continue;
            }

            var txn = FromLogValue(id, value);
            _transactions[id] = txn;
            switch (txn.State)
            {
                // Ongoing stays ongoing, as in Kafka: the producer may still commit it; if it is
                // gone, the timeout or its successor's InitProducerId aborts it.
                case TransactionState.PrepareCommit:
                    CompleteLocked(txn, commit: true);
                    break;
                case TransactionState.PrepareAbort:
                    CompleteLocked(txn, commit: false);
                    break;
            }
        }
    }

    private static TransactionMetadata FromLogValue(string id, TransactionLogValue value)
    {
        var txn = new TransactionMetadata(id)
        {
            ProducerId = value.ProducerId,
            ProducerEpoch = value.ProducerEpoch,
            TimeoutMs = value.TransactionTimeoutMs,
            State = (TransactionState)value.TransactionStatus,
            StartTimestamp = value.TransactionStartTimestampMs,
            LastUpdateTimestamp = value.TransactionLastUpdateTimestampMs,
        };
        foreach (var topic in value.TransactionPartitions ?? [])
        {
            foreach (var partition in topic.PartitionIds)
            {
                txn.Partitions.Add((topic.Topic, partition));
            }
        }

        return txn;
    }

    private void Persist(TransactionMetadata txn)
    {
        if (_stateLog is null)
        {
            return;
        }

        txn.LastUpdateTimestamp = NowMs;
        var value = new TransactionLogValue
        {
            ProducerId = txn.ProducerId,
            ProducerEpoch = txn.ProducerEpoch,
            TransactionTimeoutMs = txn.TimeoutMs,
            TransactionStatus = (sbyte)txn.State,
            TransactionLastUpdateTimestampMs = txn.LastUpdateTimestamp,
            TransactionStartTimestampMs = txn.StartTimestamp,
            TransactionPartitions = txn.Partitions
                .GroupBy(p => p.Topic, StringComparer.Ordinal)
                .Select(g => new TransactionLogValue.PartitionsSchema { Topic = g.Key, PartitionIds = g.Select(p => p.Partition).Order().ToList() })
                .ToList(),
        };
        _stateLog.Write(txn.TransactionalId, value);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A consistent copy of one transactional id's state, or null when unknown.</summary>
    public TransactionDescription? Describe(string transactionalId)
    {
        lock (_lock)
        {
            return _transactions.TryGetValue(transactionalId, out var txn) ? ToDescription(txn) : null;
        }
    }

    /// <summary>Every transactional id this coordinator knows (ListTransactions).</summary>
    public IReadOnlyList<TransactionDescription> List()
    {
        lock (_lock)
        {
            return _transactions.Values.Select(ToDescription).ToList();
        }
    }

    private static TransactionDescription ToDescription(TransactionMetadata txn) =>
        new(txn.TransactionalId, txn.ProducerId, txn.ProducerEpoch, txn.TimeoutMs, txn.State, txn.StartTimestamp,
            txn.Partitions.OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition).ToList());

    /// <summary>InitProducerId with a transactional id: a new producer id, or the same id with a bumped epoch that fences older instances (an open transaction is aborted first).</summary>
    public (ErrorCode Error, long ProducerId, short ProducerEpoch) InitProducerId(string transactionalId, int timeoutMs, long expectedProducerId, short expectedProducerEpoch)
    {
        if (timeoutMs <= 0 || timeoutMs > TransactionMaxTimeoutMs)
        {
            return (ErrorCode.InvalidTransactionTimeout, -1, -1);
        }

        lock (_lock)
        {
            if (!OwnsLocked(transactionalId))
            {
                return (ErrorCode.NotCoordinator, -1, -1);
            }

            if (!_transactions.TryGetValue(transactionalId, out var txn))
            {
                txn = new TransactionMetadata(transactionalId) { ProducerId = _producerIds.GenerateProducerId(), ProducerEpoch = 0 };
                _transactions[transactionalId] = txn;
            }
            else
            {
                // KIP-360: a producer that knows its id and epoch may re-initialize only as that producer.
                if (expectedProducerId >= 0 && (expectedProducerId != txn.ProducerId || expectedProducerEpoch != txn.ProducerEpoch))
                {
                    return (ErrorCode.ProducerFenced, -1, -1);
                }

                if (txn.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort)
                {
                    // Markers still on their way: the producer retries until the transaction ends.
                    return (ErrorCode.ConcurrentTransactions, -1, -1);
                }

                if (txn.State == TransactionState.Ongoing)
                {
                    BumpEpoch(txn);
                    CompleteLocked(txn, commit: false);
                    if (txn.State == TransactionState.PrepareAbort)
                    {
                        return (ErrorCode.ConcurrentTransactions, -1, -1);
                    }
                }

                BumpEpoch(txn);
            }

            txn.TimeoutMs = timeoutMs;
            txn.State = TransactionState.Empty;
            txn.StartTimestamp = -1;
            txn.Partitions.Clear();
            Persist(txn);
            return (ErrorCode.None, txn.ProducerId, txn.ProducerEpoch);
        }
    }

    private void BumpEpoch(TransactionMetadata txn)
    {
        if (txn.ProducerEpoch >= short.MaxValue - 1)
        {
            // Epoch exhausted: continue under a fresh producer id (as Kafka does).
            txn.ProducerId = _producerIds.GenerateProducerId();
            txn.ProducerEpoch = 0;
        }
        else
        {
            txn.ProducerEpoch++;
        }
    }

    private ErrorCode Check(string transactionalId, long producerId, short producerEpoch, out TransactionMetadata txn)
    {
        if (!OwnsLocked(transactionalId))
        {
            txn = null!;
            return ErrorCode.NotCoordinator;
        }

        if (!_transactions.TryGetValue(transactionalId, out txn!) || txn.ProducerId != producerId)
        {
            return ErrorCode.InvalidProducerIdMapping;
        }

        if (txn.ProducerEpoch != producerEpoch)
        {
            return ErrorCode.ProducerFenced;
        }

        return txn.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort ? ErrorCode.ConcurrentTransactions : ErrorCode.None;
    }

    /// <summary>AddPartitionsToTxn: the error for the whole request (None when each partition has its own result).</summary>
    public ErrorCode AddPartitions(string transactionalId, long producerId, short producerEpoch,
        IReadOnlyList<(string Topic, int Partition)> partitions, bool verifyOnly, Dictionary<(string Topic, int Partition), ErrorCode> results)
    {
        lock (_lock)
        {
            var error = Check(transactionalId, producerId, producerEpoch, out var txn);
            if (error != ErrorCode.None)
            {
                return error;
            }

            if (verifyOnly)
            {
                // KIP-890 part 1 (Kafka 4.0): a partition outside the transaction is TRANSACTION_ABORTABLE.
                foreach (var tp in partitions)
                {
                    results[tp] = txn.Partitions.Contains(tp) ? ErrorCode.None : ErrorCode.TransactionAbortable;
                }

                return ErrorCode.None;
            }

            var unknown = partitions.Where(tp => !_partitionExists(tp.Topic, tp.Partition)).ToHashSet();
            if (unknown.Count > 0)
            {
                foreach (var tp in partitions)
                {
                    results[tp] = unknown.Contains(tp) ? ErrorCode.UnknownTopicOrPartition : ErrorCode.OperationNotAttempted;
                }

                return ErrorCode.None;
            }

            var wasOngoing = txn.State == TransactionState.Ongoing;
            StartIfNeeded(txn);
            var added = false;
            foreach (var tp in partitions)
            {
                added |= txn.Partitions.Add(tp);
                results[tp] = ErrorCode.None;
            }

            if (added || !wasOngoing)
            {
                Persist(txn);
            }

            return ErrorCode.None;
        }
    }

    /// <summary>AddOffsetsToTxn: the group's <c>__consumer_offsets</c> partition joins the transaction, so it gets the marker.</summary>
    public ErrorCode AddOffsets(string transactionalId, long producerId, short producerEpoch, int offsetsPartition)
    {
        lock (_lock)
        {
            var error = Check(transactionalId, producerId, producerEpoch, out var txn);
            if (error != ErrorCode.None)
            {
                return error;
            }

            var wasOngoing = txn.State == TransactionState.Ongoing;
            StartIfNeeded(txn);
            if (txn.Partitions.Add((TopicNames.GroupMetadataTopicName, offsetsPartition)) || !wasOngoing)
            {
                Persist(txn);
            }

            return ErrorCode.None;
        }
    }

    /// <summary>
    /// TxnOffsetCommit's check with the transaction (KIP-890's verification, a local call while this
    /// node is the coordinator; other brokers ask it with AddPartitionsToTxn v5): the producer is
    /// current and its ongoing transaction holds the group's <c>__consumer_offsets</c> partition.
    /// </summary>
    public ErrorCode VerifyOffsetsPartition(string transactionalId, long producerId, short producerEpoch, int offsetsPartition)
    {
        lock (_lock)
        {
            if (!_transactions.ContainsKey(transactionalId))
            {
                return ErrorCode.InvalidProducerIdMapping;
            }

            var error = Check(transactionalId, producerId, producerEpoch, out var txn);
            if (error != ErrorCode.None)
            {
                return error;
            }

            return txn.State == TransactionState.Ongoing && txn.Partitions.Contains((TopicNames.GroupMetadataTopicName, offsetsPartition))
                ? ErrorCode.None
                : ErrorCode.InvalidTxnState;
        }
    }

    /// <summary>
    /// KIP-890 part 1, the leader's check of a transactional produce (a local call while this node
    /// coordinates the transactional id; an id it does not know is left unverified): a batch of the
    /// current producer for a partition its transaction never added would hang the last stable
    /// offset, so it is refused with TRANSACTION_ABORTABLE (INVALID_TXN_STATE for Produce v10 and
    /// older, as Kafka converts it). Other producer ids and epochs are left to the partition's
    /// producer state, which fences them.
    /// </summary>
    public ErrorCode VerifyTransactionalProduce(string transactionalId, ReadOnlySpan<byte> records, string topic, int partition, short produceVersion)
    {
        if (records.Length < RecordBatch.HeaderSize || !RecordBatch.IsTransactional(records))
        {
            return ErrorCode.None;
        }

        var producerId = RecordBatch.ProducerId(records);
        var producerEpoch = RecordBatch.ProducerEpoch(records);
        lock (_lock)
        {
            if (!_transactions.TryGetValue(transactionalId, out var txn) || txn.ProducerId != producerId || txn.ProducerEpoch != producerEpoch
                || txn.Partitions.Contains((topic, partition)))
            {
                return ErrorCode.None;
            }
        }

        return produceVersion >= 11 ? ErrorCode.TransactionAbortable : ErrorCode.InvalidTxnState;
    }

    private void StartIfNeeded(TransactionMetadata txn)
    {
        if (txn.State != TransactionState.Ongoing)
        {
            txn.State = TransactionState.Ongoing;
            txn.StartTimestamp = NowMs;
            txn.Partitions.Clear();
        }
    }

    /// <summary>
    /// EndTxn: writes the commit or abort markers (TxnOffsetCommit's offsets are materialised by
    /// the marker in their <c>__consumer_offsets</c> partition); a retry of a completed end is
    /// answered the same way.
    /// </summary>
    public (ErrorCode Error, long ProducerId, short ProducerEpoch) EndTransaction(string transactionalId, long producerId, short producerEpoch, bool commit)
    {
        lock (_lock)
        {
            var error = Check(transactionalId, producerId, producerEpoch, out var txn);
            if (error != ErrorCode.None)
            {
                return (error, -1, -1);
            }

            switch (txn.State)
            {
                case TransactionState.Ongoing:
                    CompleteLocked(txn, commit);
                    break;
                case TransactionState.Empty:
                    // Nothing was added since InitProducerId: Kafka refuses to end a transaction that never began.
                    return (ErrorCode.InvalidTxnState, -1, -1);
                case TransactionState.CompleteCommit when !commit:
                case TransactionState.CompleteAbort when commit:
                    return (ErrorCode.InvalidTxnState, -1, -1);
            }

            return (ErrorCode.None, txn.ProducerId, txn.ProducerEpoch);
        }
    }

    /// <summary>
    /// Ends a transaction: the Prepare record (durable on the ISR) decides it, the markers carry the
    /// decision to each partition's leader, the Complete record closes it. Markers a leader could
    /// not take (leadership moving, node unreachable) are retried in the background, as Kafka's
    /// marker channel does, while the transactional id answers CONCURRENT_TRANSACTIONS.
    /// </summary>
    private void CompleteLocked(TransactionMetadata txn, bool commit)
    {
        txn.State = commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
        Persist(txn);
        var pending = WriteMarkersLocked(txn, commit, txn.Partitions);
        if (pending.Count == 0)
        {
            FinishLocked(txn, commit);
            return;
        }

        txn.PendingMarkers = pending;
        RetryMarkersLater(txn.TransactionalId, txn.ProducerId, txn.ProducerEpoch, commit);
    }

    /// <summary>Sends the markers, grouped by leader; returns the partitions that still need theirs.</summary>
    private HashSet<(string Topic, int Partition)> WriteMarkersLocked(TransactionMetadata txn, bool commit, IEnumerable<(string Topic, int Partition)> partitions)
    {
        var pending = new HashSet<(string Topic, int Partition)>();
        foreach (var byLeader in partitions.GroupBy(p => _leaderOf(p.Topic, p.Partition)).ToList())
        {
            var marker = new TxnMarkerEntry(txn.ProducerId, txn.ProducerEpoch, CoordinatorEpoch, commit, [.. byLeader]);
            IReadOnlyDictionary<(string Topic, int Partition), ErrorCode> results;
            try
            {
                // The local channel completes synchronously; a remote one is awaited under the lock.
                results = _markerChannel.WriteMarkersAsync(byLeader.Key, [marker]).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or Client.NodeConnectionException or TimeoutException or OperationCanceledException)
            {
                foreach (var (topic, partition) in byLeader)
                {
                    BrokerLog.TxnMarkerFailed(_logger, txn.TransactionalId, topic, partition, e.Message);
                    pending.Add((topic, partition));
                }

                continue;
            }

            foreach (var tp in byLeader)
            {
                var error = results.TryGetValue(tp, out var e) ? e : ErrorCode.NotLeaderOrFollower;
                if (error is ErrorCode.None or ErrorCode.UnknownTopicOrPartition)
                {
                    // Written, or the partition is gone and needs no marker.
                    continue;
                }

                BrokerLog.TxnMarkerFailed(_logger, txn.TransactionalId, tp.Topic, tp.Partition, error.ToString());
                pending.Add(tp);
            }
        }

        return pending;
    }

    private void FinishLocked(TransactionMetadata txn, bool commit)
    {
        txn.PendingMarkers = null;
        txn.Partitions.Clear();
        txn.StartTimestamp = -1;
        txn.State = commit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort;
        Persist(txn);
    }

    private void RetryMarkersLater(string transactionalId, long producerId, short producerEpoch, bool commit)
    {
        _ = Task.Run(async () =>
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (!Volatile.Read(ref _disposed))
            {
                await Task.Delay(delay, _time).ConfigureAwait(false);
                try
                {
                    lock (_lock)
                    {
                        // Gone (another coordinator took the partition, which completes it from its
                        // Prepare record) or already finished: nothing left to do here.
                        if (!_transactions.TryGetValue(transactionalId, out var txn) || txn.ProducerId != producerId
                            || txn.ProducerEpoch != producerEpoch || txn.PendingMarkers is not { } pending)
                        {
                            return;
                        }

                        var still = WriteMarkersLocked(txn, commit, pending);
                        if (still.Count == 0)
                        {
                            FinishLocked(txn, commit);
                            return;
                        }

                        txn.PendingMarkers = still;
                    }
                }
                catch (Exception e) when (e is IOException or KafkaApiException or InvalidOperationException or ObjectDisposedException)
                {
                    BrokerLog.TxnAbortFailed(_logger, e);
                }

                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
            }
        });
    }

    /// <summary>Aborts every transaction open longer than its timeout; the epoch bump fences the producer (Kafka's abortTimedOutTransactions).</summary>
    public int AbortTimedOutTransactions()
    {
        try
        {
            lock (_lock)
            {
                var now = NowMs;
                var aborted = 0;
                foreach (var txn in _transactions.Values)
                {
                    if (txn.State == TransactionState.Ongoing && now - txn.StartTimestamp > txn.TimeoutMs)
                    {
                        BrokerLog.TxnTimedOut(_logger, txn.TransactionalId, txn.ProducerId, txn.ProducerEpoch);
                        BumpEpoch(txn);
                        CompleteLocked(txn, commit: false);
                        aborted++;
                    }
                }

                return aborted;
            }
        }
        catch (Exception e) when (e is IOException or KafkaApiException or ObjectDisposedException or InvalidOperationException)
        {
            // A timer callback must not take the broker down (DESIGN.md decision 10).
            BrokerLog.TxnAbortFailed(_logger, e);
            return 0;
        }
    }

    /// <summary>
    /// Forgets transactional ids idle for <c>transactional.id.expiration.ms</c> with no transaction in
    /// flight (Empty, CompleteCommit, CompleteAbort), writing a tombstone to <c>__transaction_state</c>
    /// as Kafka's removeExpiredTransactionalIds does; the next InitProducerId starts afresh.
    /// </summary>
    public int RemoveExpiredTransactionalIds()
    {
        try
        {
            lock (_lock)
            {
                var now = NowMs;
                var expired = _transactions.Values
                    .Where(t => t.State is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort
                        && now - t.LastUpdateTimestamp >= TransactionalIdExpirationMs)
                    .ToList();
                foreach (var txn in expired)
                {
                    _stateLog?.Write(txn.TransactionalId, null);
                    _transactions.Remove(txn.TransactionalId);
                    TransactionLog.TransactionalIdExpired(_logger, txn.TransactionalId, txn.ProducerId, txn.ProducerEpoch);
                }

                return expired.Count;
            }
        }
        catch (Exception e) when (e is IOException or KafkaApiException or ObjectDisposedException or InvalidOperationException)
        {
            // A timer callback must not take the broker down (DESIGN.md decision 10).
            BrokerLog.TxnAbortFailed(_logger, e);
            return 0;
        }
    }

    private void AbortOpenTransactionsLeftInLogs()
    {
        HashSet<long> ongoing;
        lock (_lock)
        {
            ongoing = [.. _transactions.Values.Where(t => t.State == TransactionState.Ongoing).Select(t => t.ProducerId)];
        }

        foreach (var partition in _replicaManager.Partitions)
        {
            if (!partition.IsLeader || partition.Log.FirstUnstableOffset < 0)
            {
                continue;
            }

            foreach (var producer in partition.Log.ActiveProducers)
            {
                if (producer.CurrentTxnStartOffset >= 0 && !ongoing.Contains(producer.ProducerId))
                {
                    _replicaManager.WriteTxnMarker(partition.Topic, partition.PartitionIndex, producer.ProducerId, producer.ProducerEpoch, CoordinatorEpoch, commit: false);
                }
            }
        }
    }

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _timer.Dispose();
        _expirationTimer.Dispose();
    }
}

/// <summary>The transaction coordinator's own log messages (source-generated).</summary>
internal static partial class TransactionLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded __transaction_state-{Partition} as its leader in epoch {LeaderEpoch}: {Count} transactional ids")]
    public static partial void PartitionLoaded(ILogger logger, int partition, int leaderEpoch, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Transactional id {TransactionalId} (producer {ProducerId} epoch {ProducerEpoch}) expired after transactional.id.expiration.ms")]
    public static partial void TransactionalIdExpired(ILogger logger, string transactionalId, long producerId, short producerEpoch);
}
