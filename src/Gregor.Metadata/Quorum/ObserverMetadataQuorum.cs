using Gregor.Metadata.Image;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Metadata.Quorum;

/// <summary>One answer of the metadata log's source to an observer's fetch.</summary>
/// <param name="Entries">Committed entries at or after the fetch offset, in order.</param>
/// <param name="Leader">The quorum's leader and epoch as the answering voter knows them.</param>
/// <param name="SnapshotEndOffset">
/// Set when the fetch offset is below the source's log start: the end offset (exclusive) of the
/// snapshot to load before fetching again.
/// </param>
public sealed record MetadataLogFetch(IReadOnlyList<CommittedEntry> Entries, LeaderAndEpoch Leader, long? SnapshotEndOffset = null);

/// <summary>Where an observer pulls the committed metadata log from (the controllers, over the Kafka protocol).</summary>
public interface IMetadataLogSource
{
    /// <summary>Committed entries from <paramref name="fetchOffset"/> on; may wait a while for new ones (a long poll).</summary>
    Task<MetadataLogFetch> FetchAsync(long fetchOffset, CancellationToken cancellationToken);

    /// <summary>A snapshot of the image ending at or after <paramref name="endOffset"/> (exclusive).</summary>
    Task<MetadataImage> FetchSnapshotAsync(long endOffset, CancellationToken cancellationToken);
}

/// <summary>
/// A broker-only node's view of the metadata log (KRaft's observer, DESIGN.md decision 6): no Raft,
/// no vote; it pulls committed entries from the controllers and offers them through the same
/// seam the voters do, so the node's <see cref="Controller.QuorumController"/> replays them into
/// its image exactly as a follower voter's would. It never leads: writes answer NOT_CONTROLLER.
/// The log is kept in memory only; a restart fetches from after the node's latest snapshot (or
/// loads a newer snapshot from the controllers when the log no longer reaches back that far).
/// </summary>
public sealed partial class ObserverMetadataQuorum : IMetadataQuorum
{
    private static readonly TimeSpan RetryBackoff = TimeSpan.FromMilliseconds(200);

    private readonly IMetadataLogSource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CommittedLog _log = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _leaderLock = new();
    private LeaderAndEpoch _leader = new(null, 0);
    private MetadataImage? _snapshot;
    private Task? _loop;
    private int _disposed;

    public ObserverMetadataQuorum(int nodeId, IMetadataLogSource source, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        NodeId = nodeId;
        _source = source;
        _time = time ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ObserverMetadataQuorum>();
    }

    public int NodeId { get; }

    public LeaderAndEpoch Leader
    {
        get
        {
            lock (_leaderLock)
            {
                return _leader;
            }
        }
    }

    public bool IsLeader => false;

    public long HighWatermark => Math.Max(_log.HighWatermark, (Volatile.Read(ref _snapshot)?.Offset ?? -1) + 1);

    public MetadataImage? InstalledSnapshot => Volatile.Read(ref _snapshot);

    public event Action<LeaderAndEpoch>? LeaderChanged;

    public event Action<long>? Committed;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Before <see cref="StartAsync"/>: fetch from after <paramref name="offset"/>, which the node's
    /// own latest snapshot already covers, instead of from the start of the log.
    /// </summary>
    public void ResumeAfter(long offset) => _log.Skip(offset);

    public ValueTask<long> AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken) =>
        throw new NotControllerException($"Node {NodeId} is a broker-only observer of the metadata log, not a controller.");

    public ValueTask WaitForCommittedAsync(CancellationToken cancellationToken) =>
        throw new NotControllerException($"Node {NodeId} is a broker-only observer of the metadata log, not a controller.");

    public IReadOnlyList<CommittedEntry> ReadCommitted(long fromOffset, int maxEntries = int.MaxValue) =>
        _log.Read(fromOffset, maxEntries);

    public void DeleteBefore(long offset) => _log.DeleteBefore(offset);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var fetched = await _source.FetchAsync(HighWatermark, cancellationToken).ConfigureAwait(false);
                SetLeader(fetched.Leader);
                if (fetched.SnapshotEndOffset is { } endOffset)
                {
                    var image = await _source.FetchSnapshotAsync(endOffset, cancellationToken).ConfigureAwait(false);
                    if (image.Offset + 1 > HighWatermark)
                    {
                        Volatile.Write(ref _snapshot, image);
                        _log.DeleteBefore(image.Offset + 1);
                        ObserverLog.SnapshotLoaded(_logger, NodeId, image.Offset);
                        Committed?.Invoke(HighWatermark);
                    }

                    continue;
                }

                var added = false;
                foreach (var entry in fetched.Entries)
                {
                    if (entry.Offset >= HighWatermark)
                    {
                        _log.Add(entry);
                        added = true;
                    }
                }

                if (added)
                {
                    Committed?.Invoke(HighWatermark);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A controller that stopped or is not reachable: the source moves on to another
                // one; the pause keeps a dead cluster from being polled in a tight loop.
                ObserverLog.FetchFailed(_logger, NodeId, e.Message);
                try
                {
                    await Task.Delay(RetryBackoff, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void SetLeader(LeaderAndEpoch leader)
    {
        lock (_leaderLock)
        {
            var current = _leader;
            // Never go back to an older epoch: a lagging voter may still name the previous leader.
            if (leader.Epoch < current.Epoch || leader == current || (leader.LeaderId is null && leader.Epoch == current.Epoch))
            {
                return;
            }

            _leader = leader;
        }

        LeaderChanged?.Invoke(leader);
    }

    private static partial class ObserverLog
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Observer {NodeId}: fetching the metadata log failed: {Reason}")]
        public static partial void FetchFailed(ILogger logger, int nodeId, string reason);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Observer {NodeId}: loaded a metadata snapshot at offset {Offset}")]
        public static partial void SnapshotLoaded(ILogger logger, int nodeId, long offset);
    }
}
