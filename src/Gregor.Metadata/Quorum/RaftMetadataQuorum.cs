using System.Net;
using DotNext.IO;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Metadata.Quorum;

/// <summary>Settings of a Raft controller quorum, with KRaft's names where KRaft has one.</summary>
public sealed class RaftQuorumOptions
{
    /// <summary><c>node.id</c>.</summary>
    public required int NodeId { get; init; }

    /// <summary><c>controller.quorum.voters</c>: every voter's node id and Raft endpoint.</summary>
    public required IReadOnlyDictionary<int, IPEndPoint> Voters { get; init; }

    /// <summary>Where this voter keeps its Raft write-ahead log (under the metadata log dir).</summary>
    public required string LogDirectory { get; init; }

    /// <summary>
    /// Election timeouts of at least 500–1000 ms (DESIGN.md decision 6): shorter ones churn when six
    /// processes share two cores.
    /// </summary>
    public int LowerElectionTimeoutMs { get; init; } = 500;

    public int UpperElectionTimeoutMs { get; init; } = 1000;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// The metadata log replicated by DotNext.Net.Cluster's Raft over TCP among the controller voters.
/// Raft log indexes are the metadata offsets; committed entries reach <see cref="CommittedLog"/>
/// through the Raft state machine on every voter, leader and followers alike.
/// </summary>
public sealed class RaftMetadataQuorum : IMetadataQuorum
{
    private readonly RaftQuorumOptions _options;
    private readonly CommittedLog _log = new();
    private readonly Dictionary<EndPoint, int> _nodeIdsByEndPoint = new();
    private readonly RaftCluster _cluster;
    private readonly MetadataStateMachine _stateMachine;
    private readonly WriteAheadLog _wal;
    private int _snapshotWanted;
    private int _disposed;
    private int _leaderId = -1;

    public RaftMetadataQuorum(RaftQuorumOptions options)
    {
        _options = options;
        if (!options.Voters.TryGetValue(options.NodeId, out var self))
        {
            throw new ArgumentException($"node.id {options.NodeId} is not in controller.quorum.voters.", nameof(options));
        }

        // The voters are static (controller.quorum.voters), so every node starts from the same
        // initial configuration instead of growing the cluster from a cold-started first node.
        var storage = new VoterEndPointStorage();
        var builder = storage.CreateInitialConfigurationBuilder();
        foreach (var (id, endPoint) in options.Voters)
        {
            builder.Add(endPoint);
            _nodeIdsByEndPoint[endPoint] = id;
        }

        builder.Build();
        var configuration = new RaftCluster.TcpConfiguration(self)
        {
            LowerElectionTimeout = options.LowerElectionTimeoutMs,
            UpperElectionTimeout = options.UpperElectionTimeoutMs,
            ColdStart = false,
            ConfigurationStorage = storage,
            LoggerFactory = options.LoggerFactory,
            RequestTimeout = TimeSpan.FromMilliseconds(options.UpperElectionTimeoutMs * 2),
        };

        var stateDirectory = Directory.CreateDirectory(Path.Combine(options.LogDirectory, "state"));
        _stateMachine = new MetadataStateMachine(stateDirectory, _log, this);
        // DotNext requires the state machine's snapshot restored before the WAL is built on it: the
        // WAL replays only the entries after the snapshot, and drops those it covers. Start-up is
        // the only caller, so waiting here is harmless.
        _stateMachine.RestoreAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _wal = new WriteAheadLog(new WriteAheadLog.Options { Location = Path.Combine(options.LogDirectory, "wal") }, _stateMachine);
        _cluster = new RaftCluster(configuration) { AuditTrail = _wal };
        _cluster.LeaderChanged += OnLeaderChanged;
    }

    public int NodeId => _options.NodeId;

    /// <summary>
    /// The leader as last announced, with the current term read live: DotNext may announce a
    /// leader before the term it persisted is visible, and the epoch must never go backwards.
    /// </summary>
    public LeaderAndEpoch Leader
    {
        get
        {
            var id = Volatile.Read(ref _leaderId);
            return new LeaderAndEpoch(id < 0 ? null : id, _cluster.AuditTrail.Term);
        }
    }

    public bool IsLeader => Leader.LeaderId == NodeId;

    public long HighWatermark => _log.HighWatermark;

    public long LogStartOffset => _log.StartOffset;

    public event Action<LeaderAndEpoch>? LeaderChanged;

    public event Action<long>? Committed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _wal.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _cluster.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken)
    {
        if (_cluster.Leader is not { IsRemote: false })
        {
            throw new NotControllerException($"Node {NodeId} is not the active controller; the leader is {Leader.LeaderId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}.");
        }

        // The state machine completes this with the entry's index when the entry is applied here.
        var applied = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _cluster.ReplicateAsync(entry, applied, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new NotControllerException($"Node {NodeId} lost leadership while appending: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // DotNext cancels replication through its leadership token when this node steps down.
            throw new NotControllerException($"Node {NodeId} lost leadership while appending.", e);
        }

        return await applied.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask WaitForCommittedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _cluster.ApplyReadBarrierAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new NotControllerException($"Node {NodeId} is not the active controller: {e.Message}", e);
        }
    }

    /// <summary>
    /// Trims the in-memory copy and asks for a Raft snapshot at the next applied entry: the
    /// snapshot holds the entries kept here (those the metadata snapshot does not cover), and
    /// DotNext's WAL then drops every entry the snapshot covers, so the log on disk stays bounded.
    /// </summary>
    public void DeleteBefore(long offset)
    {
        _log.DeleteBefore(offset);
        Volatile.Write(ref _snapshotWanted, 1);
    }

    public IReadOnlyList<CommittedEntry> ReadCommitted(long fromOffset, int maxEntries = int.MaxValue) =>
        _log.Read(fromOffset, maxEntries);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _cluster.LeaderChanged -= OnLeaderChanged;
        try
        {
            await _cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }

        _cluster.Dispose();
        await _wal.DisposeAsync().ConfigureAwait(false);
        await _stateMachine.DisposeAsync().ConfigureAwait(false);
    }

    private void OnLeaderChanged(RaftCluster<RaftClusterMember> cluster, RaftClusterMember? leader)
    {
        Volatile.Write(ref _leaderId, leader is not null && _nodeIdsByEndPoint.TryGetValue(leader.EndPoint, out var id) ? id : -1);
        LeaderChanged?.Invoke(Leader);
    }

    private void OnApplied(long highWatermark) => Committed?.Invoke(highWatermark);

    /// <summary>
    /// Feeds committed Raft entries into the committed log. It keeps no state of its own to
    /// snapshot: metadata snapshots are the image's business (<see cref="Image.MetadataSnapshot"/>).
    /// </summary>
    private sealed class MetadataStateMachine(DirectoryInfo location, CommittedLog log, RaftMetadataQuorum owner)
        : SimpleStateMachine(location)
    {
        protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
        {
            if (!entry.IsConfiguration && entry.TryGetPayload(out var payload) && !payload.IsEmpty)
            {
                log.Add(new CommittedEntry(entry.Index, entry.Term, System.Buffers.BuffersExtensions.ToArray(payload)));
            }
            else
            {
                log.Skip(entry.Index);
            }

            if (entry.Context is TaskCompletionSource<long> applied)
            {
                applied.TrySetResult(entry.Index);
            }

            owner.OnApplied(log.HighWatermark);
            return ValueTask.FromResult(Interlocked.Exchange(ref owner._snapshotWanted, 0) == 1);
        }

        /// <summary>The committed log as kept in memory: start offset, high watermark, then each entry (offset, epoch, bytes).</summary>
        protected override async ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
        {
            var (start, highWatermark, entries) = log.Snapshot();
            var size = 8 + 8 + 4 + entries.Sum(e => 8 + 8 + 4 + e.Payload.Length);
            var bytes = new byte[size];
            var position = 0;
            void Long(long value)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(position), value);
                position += 8;
            }

            void Int(int value)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(position), value);
                position += 4;
            }

            Long(start);
            Long(highWatermark);
            Int(entries.Count);
            foreach (var entry in entries)
            {
                Long(entry.Offset);
                Long(entry.Epoch);
                Int(entry.Payload.Length);
                entry.Payload.Span.CopyTo(bytes.AsSpan(position));
                position += entry.Payload.Length;
            }

            await writer.WriteAsync(bytes, null, token).ConfigureAwait(false);
        }

        protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
        {
            var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
            var position = 0;
            long Long()
            {
                var value = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(position));
                position += 8;
                return value;
            }

            int Int()
            {
                var value = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position));
                position += 4;
                return value;
            }

            var start = Long();
            var highWatermark = Long();
            var count = Int();
            var entries = new List<CommittedEntry>(count);
            for (var i = 0; i < count; i++)
            {
                var offset = Long();
                var epoch = Long();
                var length = Int();
                entries.Add(new CommittedEntry(offset, epoch, bytes.AsMemory(position, length).ToArray()));
                position += length;
            }

            log.Restore(start, highWatermark, entries);
        }
    }

    /// <summary>Raft membership kept in memory; endpoints encoded as a 16-byte IPv6(-mapped) address and a port.</summary>
    private sealed class VoterEndPointStorage : InMemoryClusterConfigurationStorage<EndPoint>
    {
        protected override void Encode(EndPoint address, ref DotNext.Buffers.BufferWriterSlim<byte> output)
        {
            var ip = (IPEndPoint)address;
            Span<byte> bytes = stackalloc byte[18];
            ip.Address.MapToIPv6().TryWriteBytes(bytes, out _);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bytes[16..], (ushort)ip.Port);
            output.Write(bytes);
        }

        protected override EndPoint Decode(ref DotNext.Buffers.SequenceReader reader)
        {
            Span<byte> bytes = stackalloc byte[18];
            reader.Read(bytes);
            var address = new IPAddress(bytes[..16]);
            return new IPEndPoint(
                address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address,
                System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(bytes[16..]));
        }
    }
}
