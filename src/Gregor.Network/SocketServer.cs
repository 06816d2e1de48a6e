using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gregor.Broker.Dispatch;
using Microsoft.Extensions.Logging;

namespace Gregor.Network;

/// <summary>
/// The broker's listeners and connections (Kafka's <c>SocketServer</c>): accepts on every listener,
/// frames requests and hands each one to the <see cref="IRequestDispatcher"/>.
/// </summary>
public sealed class SocketServer : IAsyncDisposable
{
    private readonly NetworkOptions _options;
    private readonly IRequestDispatcher _dispatcher;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly NetworkMetrics _metrics = new();
    private readonly ConcurrentDictionary<long, KafkaChannel> _channels = new();
    private readonly List<Acceptor> _acceptors = [];
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly Dictionary<string, IReadOnlyList<IPEndPoint>> _boundEndpoints = new(StringComparer.Ordinal);
    private readonly object _stateLock = new();
    private ITimer? _idleTimer;
    private long _nextConnectionId;
    private State _state;
    private Task? _stopTask;

    public SocketServer(NetworkOptions options, IRequestDispatcher dispatcher, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _options = options;
        _dispatcher = dispatcher;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("Gregor.Network.SocketServer");
    }

    private enum State
    {
        Created,
        Started,
        Stopped,
    }

    /// <summary>The endpoints each listener (by name) is bound to, with the actual ports once started.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IPEndPoint>> BoundEndpoints => _boundEndpoints;

    /// <summary>
    /// The port each listener (by name) is bound to: what <c>advertised.listeners</c> entries with
    /// port 0 resolve to (<c>BrokerConfig.ResolveAdvertisedListeners</c>).
    /// </summary>
    public IReadOnlyDictionary<string, int> BoundPorts => _boundEndpoints.ToDictionary(e => e.Key, e => e.Value[0].Port, StringComparer.Ordinal);

    /// <summary>Connections currently open.</summary>
    public int ConnectionCount => _channels.Count;

    /// <summary>The port a listener is bound to (the same on every address it bound).</summary>
    public int GetBoundPort(string listenerName) =>
        _boundEndpoints.TryGetValue(listenerName, out var endpoints)
            ? endpoints[0].Port
            : throw new InvalidOperationException($"Listener '{listenerName}' is not bound.");

    /// <summary>Binds every listener and starts accepting. Throws if any listener cannot be bound.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            if (_state != State.Created)
            {
                throw new InvalidOperationException("The socket server can be started once.");
            }

            _state = State.Started;
        }

        try
        {
            foreach (var listener in _options.Listeners)
            {
                var sockets = await BindAsync(listener, cancellationToken).ConfigureAwait(false);
                var endpoints = new List<IPEndPoint>(sockets.Count);
                foreach (var socket in sockets)
                {
                    var endPoint = (IPEndPoint)socket.LocalEndPoint!;
                    endpoints.Add(endPoint);
                    _acceptors.Add(new Acceptor(listener.Name, socket));
                    NetworkLog.ListenerBound(_logger, listener.Name, endPoint);
                }

                _boundEndpoints[listener.Name] = endpoints;
            }
        }
        catch
        {
            foreach (var acceptor in _acceptors)
            {
                acceptor.Socket.Dispose();
            }

            _acceptors.Clear();
            _boundEndpoints.Clear();
            throw;
        }

        foreach (var acceptor in _acceptors)
        {
            acceptor.AcceptTask = AcceptLoopAsync(acceptor);
        }

        var maxIdle = TimeSpan.FromMilliseconds(_options.ConnectionsMaxIdleMs);
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.ConnectionsMaxIdleMs / 4, 10, 30_000));
        _idleTimer = _timeProvider.CreateTimer(static state => ((SocketServer)state!).CloseIdleConnections(), this, period, period);
    }

    /// <summary>
    /// Graceful stop: stops accepting, stops reading new requests, lets in-flight requests finish
    /// and flushes their responses (waiting at most <see cref="NetworkOptions.ShutdownTimeout"/> or
    /// until <paramref name="cancellationToken"/> fires), then closes every connection.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            if (_stopTask is null)
            {
                var wasStarted = _state == State.Started;
                _state = State.Stopped;
                _stopTask = wasStarted ? StopCoreAsync(cancellationToken) : Task.CompletedTask;
            }

            return _stopTask;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopAccepting.Dispose();
        _metrics.Dispose();
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        _stopAccepting.Cancel();
        foreach (var acceptor in _acceptors)
        {
            acceptor.Socket.Dispose();
        }

        foreach (var acceptor in _acceptors)
        {
            await acceptor.AcceptTask.ConfigureAwait(false);
        }

        if (_idleTimer is not null)
        {
            await _idleTimer.DisposeAsync().ConfigureAwait(false);
        }

        var channels = _channels.Values.ToArray();
        NetworkLog.Stopping(_logger, channels.Length);
        foreach (var channel in channels)
        {
            channel.Close();
        }

        var all = Task.WhenAll(channels.Select(c => c.RunTask));
        try
        {
            await all.WaitAsync(_options.ShutdownTimeout, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            NetworkLog.ShutdownTimedOut(_logger, _channels.Count);
            foreach (var channel in channels)
            {
                channel.Abort();
            }

            await all.ConfigureAwait(false);
        }

        NetworkLog.Stopped(_logger);
    }

    private async Task AcceptLoopAsync(Acceptor acceptor)
    {
        var token = _stopAccepting.Token;
        var tags = NetworkMetrics.Tags(acceptor.ListenerName);
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await acceptor.Socket.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (token.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors or a connection reset before accept: keep listening.
                NetworkLog.AcceptFailed(_logger, acceptor.ListenerName, acceptor.Socket.LocalEndPoint, ex);
                continue;
            }

            try
            {
                ConfigureSocket(socket);
            }
            catch (SocketException ex)
            {
                NetworkLog.AcceptFailed(_logger, acceptor.ListenerName, acceptor.Socket.LocalEndPoint, ex);
                socket.Dispose();
                continue;
            }

            var id = Interlocked.Increment(ref _nextConnectionId);
            var channel = new KafkaChannel(id, acceptor.ListenerName, socket, _dispatcher, _options, _logger, _metrics, _timeProvider);
            _channels[id] = channel;
            _metrics.ConnectionCreationTotal.Add(1, tags);
            _metrics.ConnectionCount.Add(1, tags);
            NetworkLog.ConnectionAccepted(_logger, id, acceptor.ListenerName, channel.Context.RemoteEndPoint);
            channel.Start();
            _ = channel.RunTask.ContinueWith(
                static (_, state) =>
                {
                    var (server, channel, tags) = ((SocketServer, KafkaChannel, System.Diagnostics.TagList))state!;
                    server._channels.TryRemove(channel.ConnectionId, out var _);
                    server._metrics.ConnectionCount.Add(-1, tags);
                    server._metrics.ConnectionCloseTotal.Add(1, tags);
                },
                (this, channel, tags),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private void ConfigureSocket(Socket socket)
    {
        socket.NoDelay = true;
        if (_options.SocketSendBufferBytes != -1)
        {
            socket.SendBufferSize = _options.SocketSendBufferBytes;
        }

        if (_options.SocketReceiveBufferBytes != -1)
        {
            socket.ReceiveBufferSize = _options.SocketReceiveBufferBytes;
        }
    }

    private void CloseIdleConnections()
    {
        var now = _timeProvider.GetTimestamp();
        var maxIdle = TimeSpan.FromMilliseconds(_options.ConnectionsMaxIdleMs);
        foreach (var channel in _channels.Values)
        {
            channel.CloseIfIdle(now, maxIdle);
        }
    }

    private async Task<List<Socket>> BindAsync(ListenerEndpoint listener, CancellationToken cancellationToken)
    {
        var host = listener.Host.Trim();
        if (host.Length == 0)
        {
            // Every interface: one dual-mode IPv6 socket, or IPv4 where the machine has no IPv6.
            try
            {
                return [Listen(new IPEndPoint(IPAddress.IPv6Any, listener.Port), dualMode: true)];
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable or SocketError.ProtocolNotSupported)
            {
                return [Listen(new IPEndPoint(IPAddress.Any, listener.Port), dualMode: false)];
            }
        }

        IPAddress[] addresses;
        if (IPAddress.TryParse(host.TrimStart('[').TrimEnd(']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            // A name binds every address it resolves to: librdkafka resolves "localhost" to ::1 first.
            var resolved = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                // Some resolvers (containers, minimal /etc/hosts) give only 127.0.0.1 while
                // clients elsewhere try ::1: localhost always means both loopbacks.
                resolved = [.. resolved, IPAddress.IPv6Loopback, IPAddress.Loopback];
            }

            addresses = resolved.Distinct().ToArray();
            if (addresses.Length == 0)
            {
                throw new SocketException((int)SocketError.HostNotFound);
            }
        }

        // With port 0 the first address picks an ephemeral port and the others must get the same
        // one; if another process holds it on a later address, start over with a new port.
        const int maxAttempts = 20;
        for (var attempt = 1; ; attempt++)
        {
            var sockets = new List<Socket>(addresses.Length);
            var port = listener.Port;
            try
            {
                foreach (var address in addresses)
                {
                    Socket socket;
                    try
                    {
                        socket = Listen(new IPEndPoint(address, port), dualMode: false);
                    }
                    catch (SocketException ex) when (addresses.Length > 1 && ex.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported)
                    {
                        NetworkLog.ListenerAddressSkipped(_logger, listener.Name, address, ex);
                        continue;
                    }

                    sockets.Add(socket);
                    port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                }

                if (sockets.Count == 0)
                {
                    throw new SocketException((int)SocketError.AddressNotAvailable);
                }

                return sockets;
            }
            catch (SocketException ex) when (listener.Port == 0 && sockets.Count > 0 && ex.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < maxAttempts)
            {
                foreach (var socket in sockets)
                {
                    socket.Dispose();
                }
            }
            catch
            {
                foreach (var socket in sockets)
                {
                    socket.Dispose();
                }

                throw;
            }
        }
    }

    private Socket Listen(IPEndPoint endPoint, bool dualMode)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualMode)
            {
                socket.DualMode = true;
            }

            // Set on the listening socket so accepted sockets start with it (window scaling is
            // negotiated in the handshake).
            if (_options.SocketReceiveBufferBytes != -1)
            {
                socket.ReceiveBufferSize = _options.SocketReceiveBufferBytes;
            }

            socket.Bind(endPoint);
            socket.Listen(_options.SocketListenBacklogSize);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class Acceptor(string listenerName, Socket socket)
    {
        public string ListenerName { get; } = listenerName;

        public Socket Socket { get; } = socket;

        public Task AcceptTask { get; set; } = Task.CompletedTask;
    }
}
