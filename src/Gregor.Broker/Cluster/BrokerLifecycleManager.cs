using Gregor.Metadata.Controller;
using Gregor.Protocol;
using Microsoft.Extensions.Logging;
using MetadataBrokerEndpoint = Gregor.Metadata.Image.BrokerEndpoint;

namespace Gregor.Broker.Cluster;

/// <summary>
/// A broker's life as the controller sees it (Kafka's BrokerLifecycleManager): it registers with a
/// fresh incarnation id once its listeners are bound, heartbeats every
/// <c>broker.heartbeat.interval.ms</c>, starts fenced and is unfenced once its metadata image has
/// caught up with its registration, registers again when the controller no longer knows its epoch,
/// and on shutdown asks the controller to move its leaderships away before it stops (controlled
/// shutdown).
/// </summary>
public sealed class BrokerLifecycleManager : IAsyncDisposable
{
    // While fenced the broker heartbeats quickly so it is unfenced as soon as it caught up.
    private static readonly TimeSpan FencedHeartbeatInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan NoControllerGiveUp = TimeSpan.FromSeconds(1);

    private readonly ControllerChannel _channel;
    private readonly string _clusterId;
    private readonly IReadOnlyList<MetadataBrokerEndpoint> _endpoints;
    private readonly string? _rack;
    private readonly Func<long> _metadataOffset;
    private readonly TimeSpan _heartbeatInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _unfenced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private long _brokerEpoch = -1;
    private volatile bool _fenced = true;

    public BrokerLifecycleManager(
        ControllerChannel channel,
        string clusterId,
        IReadOnlyList<MetadataBrokerEndpoint> endpoints,
        string? rack,
        Func<long> metadataOffset,
        TimeSpan heartbeatInterval,
        TimeProvider time,
        ILogger logger)
    {
        _channel = channel;
        _clusterId = clusterId;
        _endpoints = endpoints;
        _rack = rack;
        _metadataOffset = metadataOffset;
        _heartbeatInterval = heartbeatInterval;
        _time = time;
        _logger = logger;
    }

    public int NodeId => _channel.NodeId;

    /// <summary>This process's incarnation (a new one per start, as Kafka's).</summary>
    public Uuid IncarnationId { get; } = Uuid.NewRandom();

    /// <summary>The broker epoch of the current registration; -1 while unregistered.</summary>
    public long BrokerEpoch => Interlocked.Read(ref _brokerEpoch);

    public bool IsFenced => _fenced;

    /// <summary>Completes the first time the controller unfences this broker.</summary>
    public Task Unfenced => _unfenced.Task;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>
    /// Stops heartbeating, then heartbeats with WantShutDown until the controller answers
    /// ShouldShutDown (its leaderships moved away) or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task ControlledShutdownAsync(TimeSpan timeout)
    {
        await StopLoopAsync().ConfigureAwait(false);
        var epoch = BrokerEpoch;
        if (epoch < 0)
        {
            return;
        }

        using var cts = new CancellationTokenSource(timeout, _time);
        var noControllerSince = (long?)null;
        try
        {
            while (true)
            {
                // The last nodes of a stopping cluster have no quorum left to ask: do not wait it out.
                if (!_channel.IsActive && !_channel.TryGetActiveController(out _, out _, out _))
                {
                    noControllerSince ??= _time.GetTimestamp();
                    if (_time.GetElapsedTime(noControllerSince.Value) >= NoControllerGiveUp)
                    {
                        ClusterLog.ControlledShutdown(_logger, NodeId, "skipped: no active controller");
                        return;
                    }
                }
                else
                {
                    noControllerSince = null;
                }

                var result = await _channel.HeartbeatAsync(NodeId, epoch, _metadataOffset(), wantFence: false, wantShutDown: true, cts.Token).ConfigureAwait(false);
                if (result.ErrorCode == ErrorCode.None && result.ShouldShutDown)
                {
                    ClusterLog.ControlledShutdown(_logger, NodeId, "completed");
                    return;
                }

                if (result.ErrorCode is ErrorCode.StaleBrokerEpoch or ErrorCode.BrokerIdNotRegistered)
                {
                    return;
                }

                await Task.Delay(FencedHeartbeatInterval, _time, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            ClusterLog.ControlledShutdown(_logger, NodeId, "timed out");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

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
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = BrokerEpoch < 0
                    ? await RegisterAsync(cancellationToken).ConfigureAwait(false)
                    : await HeartbeatAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A controller that went away mid-call: try again shortly.
                ClusterLog.ControllerError(_logger, NodeId, "lifecycle", e.GetType().Name + ": " + e.Message);
                wait = FencedHeartbeatInterval;
            }

            try
            {
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<TimeSpan> RegisterAsync(CancellationToken cancellationToken)
    {
        var result = await _channel.RegisterAsync(NodeId, _clusterId, new BrokerRegistrationRequestData(NodeId, IncarnationId, _endpoints, _rack), cancellationToken).ConfigureAwait(false);
        if (result.ErrorCode != ErrorCode.None)
        {
            ClusterLog.ControllerError(_logger, NodeId, "BrokerRegistration", result.ErrorCode.ToString());
            return FencedHeartbeatInterval;
        }

        Interlocked.Exchange(ref _brokerEpoch, result.BrokerEpoch);
        _channel.BrokerEpoch = result.BrokerEpoch;
        ClusterLog.Registered(_logger, NodeId, result.BrokerEpoch, IncarnationId.ToString());
        return TimeSpan.Zero;
    }

    private async Task<TimeSpan> HeartbeatAsync(CancellationToken cancellationToken)
    {
        var result = await _channel.HeartbeatAsync(NodeId, BrokerEpoch, _metadataOffset(), wantFence: false, wantShutDown: false, cancellationToken).ConfigureAwait(false);
        switch (result.ErrorCode)
        {
            case ErrorCode.None:
                var wasFenced = _fenced;
                _fenced = result.IsFenced;
                if (wasFenced && !result.IsFenced)
                {
                    ClusterLog.Unfenced(_logger, NodeId);
                    _unfenced.TrySetResult();
                }

                return result.IsFenced ? FencedHeartbeatInterval : _heartbeatInterval;
            case ErrorCode.StaleBrokerEpoch or ErrorCode.BrokerIdNotRegistered:
                // The controller forgot this registration (or a newer one replaced it): start over.
                Interlocked.Exchange(ref _brokerEpoch, -1);
                _fenced = true;
                return TimeSpan.Zero;
            default:
                ClusterLog.ControllerError(_logger, NodeId, "BrokerHeartbeat", result.ErrorCode.ToString());
                return FencedHeartbeatInterval;
        }
    }
}
