using Gregor.Metadata.Image;
using Gregor.Metadata.Records;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Metadata.Controller;

/// <summary>
/// Broker lifecycle as KRaft runs it: a broker registers (fenced) with its incarnation id and
/// listeners, heartbeats, is unfenced once its metadata has caught up to its registration, and is
/// fenced when heartbeats stop for <c>broker.session.timeout.ms</c>. Fencing or shutting down a
/// broker takes it out of ISRs and moves leadership to another ISR member; leaders come from the
/// ISR only (unclean leader election is off).
/// </summary>
public sealed partial class QuorumController
{
    // Heartbeat times are the active controller's memory, not metadata: a new controller starts
    // every session afresh, as Kafka's BrokerHeartbeatManager does.
    private readonly Dictionary<int, long> _lastContact = new();
    private ITimer? _sessionTimer;
    private int _sessionCheckRunning;

    /// <summary>
    /// Starts the controller's periodic work on the injected clock: fencing brokers whose
    /// session expired while this node is the active controller.
    /// </summary>
    public void StartPeriodicTasks()
    {
        _sessionTimer ??= _time.CreateTimer(
            static state => ((QuorumController)state!).OnSessionCheck(),
            this,
            _options.BrokerSessionCheckInterval,
            _options.BrokerSessionCheckInterval);
    }

    private void OnSessionCheck()
    {
        if (!IsActive || Interlocked.Exchange(ref _sessionCheckRunning, 1) != 0)
        {
            return;
        }

        _ = RunSessionCheck();

        async Task RunSessionCheck()
        {
            try
            {
                await FenceStaleBrokersAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // Shutting down.
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                Volatile.Write(ref _sessionCheckRunning, 0);
            }
        }
    }

    public async Task<BrokerRegistrationResult> RegisterBrokerAsync(BrokerRegistrationRequestData request, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var now = _time.GetTimestamp();
                if (image.Brokers.TryGetValue(request.BrokerId, out var existing))
                {
                    if (existing.IncarnationId == request.IncarnationId)
                    {
                        // A retried registration of the same process: same answer.
                        Touch(request.BrokerId, now);
                        return ([], new BrokerRegistrationResult(ErrorCode.None, existing.Epoch));
                    }

                    // In combined mode this controller's own broker registering for the first time
                    // since the controller started means the old incarnation died with the old
                    // process: no session to wait out.
                    var ownRestart = request.BrokerId == _quorum.NodeId && !HasContact(request.BrokerId);
                    if (!existing.Fenced && !ownRestart && !SessionExpired(request.BrokerId, now))
                    {
                        return ([], new BrokerRegistrationResult(ErrorCode.DuplicateBrokerRegistration, -1));
                    }
                }

                // The broker epoch only has to grow: the next metadata offset does, and a
                // re-registration always gets a larger one than the broker had.
                var epoch = Math.Max(_quorum.HighWatermark, (existing?.Epoch ?? -1) + 1);
                var records = new List<MetadataRecord>();
                if (existing is { Fenced: false })
                {
                    // The old incarnation is gone: its leaderships and ISR places go first. Where it
                    // is the only ISR member nobody else can lead, and a leaderless detour would
                    // only bump the leader epoch twice (a lone node restarting, for one).
                    records.AddRange(RemoveFromIsrs(image, request.BrokerId, keepSoleLeader: true));
                }

                records.Add(MetadataRecord.Of(new RegisterBrokerRecord
                {
                    BrokerId = request.BrokerId,
                    IncarnationId = request.IncarnationId,
                    BrokerEpoch = epoch,
                    EndPoints = [.. request.Listeners.Select(l => new RegisterBrokerRecord.BrokerEndpoint
                    {
                        Name = l.Name, Host = l.Host, Port = (ushort)l.Port, SecurityProtocol = l.SecurityProtocol,
                    })],
                    Rack = request.Rack,
                    Fenced = true,
                }));
                Touch(request.BrokerId, now);
                return (records, new BrokerRegistrationResult(ErrorCode.None, epoch));
            },
            error => new BrokerRegistrationResult(error, -1),
            cancellationToken).ConfigureAwait(false);
    }

    /// <param name="currentMetadataOffset">The offset of the broker's metadata image.</param>
    /// <param name="wantFence">The broker asks to stay (or become) fenced.</param>
    /// <param name="wantShutDown">Controlled shutdown: move leadership away, then let it go.</param>
    public async Task<BrokerHeartbeatResult> BrokerHeartbeatAsync(
        int brokerId, long brokerEpoch, long currentMetadataOffset, bool wantFence, bool wantShutDown, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var error = CheckBrokerEpoch(image, brokerId, brokerEpoch);
                if (error != ErrorCode.None)
                {
                    return ([], new BrokerHeartbeatResult(error, false, true, false));
                }

                Touch(brokerId, _time.GetTimestamp());
                var broker = image.Brokers[brokerId];

                // Caught up once the broker's image includes its own registration.
                var caughtUp = currentMetadataOffset >= broker.Epoch;
                var records = new List<MetadataRecord>();
                if (wantShutDown)
                {
                    if (!broker.Fenced)
                    {
                        records.AddRange(RemoveFromIsrs(image, brokerId));
                        records.Add(MetadataRecord.Of(new FenceBrokerRecord { Id = brokerId, Epoch = brokerEpoch }));
                    }

                    return (records, new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, true));
                }

                if (broker.Fenced && !wantFence && caughtUp)
                {
                    records.Add(MetadataRecord.Of(new UnfenceBrokerRecord { Id = brokerId, Epoch = brokerEpoch }));
                    records.AddRange(ElectLeaderlessPartitions(image, brokerId));
                    return (records, new BrokerHeartbeatResult(ErrorCode.None, true, false, false));
                }

                if (!broker.Fenced && wantFence)
                {
                    records.AddRange(RemoveFromIsrs(image, brokerId));
                    records.Add(MetadataRecord.Of(new FenceBrokerRecord { Id = brokerId, Epoch = brokerEpoch }));
                    return (records, new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, false));
                }

                return ([], new BrokerHeartbeatResult(ErrorCode.None, caughtUp, broker.Fenced, false));
            },
            error => new BrokerHeartbeatResult(error, false, true, false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fences every unfenced broker whose last heartbeat is older than the session timeout; the
    /// controller's periodic task calls it. Returns the ids fenced.
    /// </summary>
    public async Task<IReadOnlyList<int>> FenceStaleBrokersAsync(CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var now = _time.GetTimestamp();
                var fenced = new List<int>();
                var records = new List<MetadataRecord>();
                var current = image;
                foreach (var broker in image.Brokers.Values)
                {
                    if (broker.Fenced || !SessionExpired(broker.Id, now))
                    {
                        continue;
                    }

                    // Later brokers' ISR changes must see the earlier ones: replay as we go.
                    var batch = RemoveFromIsrs(current, broker.Id);
                    batch.Add(MetadataRecord.Of(new FenceBrokerRecord { Id = broker.Id, Epoch = broker.Epoch }));
                    var delta = new MetadataDelta(current);
                    delta.Replay(batch);
                    current = delta.Apply(current.Offset);
                    records.AddRange(batch);
                    fenced.Add(broker.Id);
                }

                return (records, (IReadOnlyList<int>)fenced);
            },
            _ => [],
            cancellationToken).ConfigureAwait(false);
    }

    private static ErrorCode CheckBrokerEpoch(MetadataImage image, int brokerId, long brokerEpoch) =>
        !image.Brokers.TryGetValue(brokerId, out var broker) ? ErrorCode.BrokerIdNotRegistered
        : broker.Epoch != brokerEpoch ? ErrorCode.StaleBrokerEpoch
        : ErrorCode.None;

    private void Touch(int brokerId, long timestamp)
    {
        lock (_lastContact)
        {
            _lastContact[brokerId] = timestamp;
        }
    }

    private bool HasContact(int brokerId)
    {
        lock (_lastContact)
        {
            return _lastContact.ContainsKey(brokerId);
        }
    }

    private bool SessionExpired(int brokerId, long now)
    {
        lock (_lastContact)
        {
            if (!_lastContact.TryGetValue(brokerId, out var last))
            {
                // Unknown to this controller (it just became active): the session starts now.
                _lastContact[brokerId] = now;
                return false;
            }

            return _time.GetElapsedTime(last, now) >= _options.BrokerSessionTimeout;
        }
    }

    /// <summary>
    /// PartitionChangeRecords taking <paramref name="brokerId"/> out of every ISR it is in, electing
    /// a new leader from the remaining ISR where it led. The last ISR member stays in the ISR (as in
    /// KRaft, so it can lead again without an unclean election) but the partition loses its leader.
    /// </summary>
    private static List<MetadataRecord> RemoveFromIsrs(MetadataImage image, int brokerId, bool keepSoleLeader = false)
    {
        var usable = UsableBrokers(image);
        usable.Remove(brokerId);
        var records = new List<MetadataRecord>();
        foreach (var topic in image.TopicsByName.Values)
        {
            foreach (var (index, partition) in topic.Partitions)
            {
                if (!partition.IsrContains(brokerId) || (keepSoleLeader && partition.Leader == brokerId && partition.Isr.Length == 1))
                {
                    continue;
                }

                var isr = partition.Isr.Where(b => b != brokerId).ToList();
                var change = new PartitionChangeRecord { TopicId = topic.Id, PartitionId = index };
                if (isr.Count > 0)
                {
                    change.Isr = isr;
                }

                if (partition.Leader == brokerId || partition.Leader == -1)
                {
                    var leader = ElectFromIsr(partition.Replicas, isr, usable);
                    if (leader != partition.Leader)
                    {
                        change.Leader = leader;
                    }
                }

                if (change.Isr is not null || change.Leader != -2)
                {
                    records.Add(MetadataRecord.Of(change));
                }
            }
        }

        return records;
    }

    /// <summary>Partitions without a leader whose ISR includes the newly unfenced broker get a leader again.</summary>
    private static List<MetadataRecord> ElectLeaderlessPartitions(MetadataImage image, int unfencedBrokerId)
    {
        var usable = UsableBrokers(image);
        usable.Add(unfencedBrokerId);
        var records = new List<MetadataRecord>();
        foreach (var topic in image.TopicsByName.Values)
        {
            foreach (var (index, partition) in topic.Partitions)
            {
                if (partition.Leader != -1 || !partition.IsrContains(unfencedBrokerId))
                {
                    continue;
                }

                var leader = ElectFromIsr(partition.Replicas, partition.Isr, usable);
                if (leader != -1)
                {
                    records.Add(MetadataRecord.Of(new PartitionChangeRecord { TopicId = topic.Id, PartitionId = index, Leader = leader }));
                }
            }
        }

        return records;
    }

    /// <summary>The first replica, in preferred (assignment) order, that is in the ISR and usable; -1 when none.</summary>
    private static int ElectFromIsr(IEnumerable<int> replicas, IReadOnlyCollection<int> isr, HashSet<int> usable) =>
        replicas.FirstOrDefault(r => isr.Contains(r) && usable.Contains(r), -1);
}
