namespace Gregor.Network;

/// <summary>One named listener, as parsed from <c>listeners=NAME://host:port</c>.</summary>
/// <param name="Name">The listener name (PLAINTEXT, INTERNAL, ...), also the key of <see cref="SocketServer.BoundEndpoints"/>.</param>
/// <param name="Host">A host name (binds every address it resolves to), an IP literal, or empty for all interfaces.</param>
/// <param name="Port">The port; 0 binds an ephemeral port.</param>
public sealed record ListenerEndpoint(string Name, string Host, int Port);

/// <summary>The socket-level settings of the broker, with Kafka's property names and defaults.</summary>
public sealed class NetworkOptions
{
    public const int DefaultSocketRequestMaxBytes = 104857600;
    public const int DefaultSocketBufferBytes = 102400;
    public const long DefaultConnectionsMaxIdleMs = 600000;

    public IReadOnlyList<ListenerEndpoint> Listeners { get; init; } = [new ListenerEndpoint("PLAINTEXT", "localhost", 9092)];

    /// <summary><c>socket.request.max.bytes</c>: larger frames close the connection.</summary>
    public int SocketRequestMaxBytes { get; init; } = DefaultSocketRequestMaxBytes;

    /// <summary><c>socket.send.buffer.bytes</c>; -1 keeps the OS default.</summary>
    public int SocketSendBufferBytes { get; init; } = DefaultSocketBufferBytes;

    /// <summary><c>socket.receive.buffer.bytes</c>; -1 keeps the OS default.</summary>
    public int SocketReceiveBufferBytes { get; init; } = DefaultSocketBufferBytes;

    /// <summary><c>socket.listen.backlog.size</c>: pending connections the OS queues per listening socket.</summary>
    public int SocketListenBacklogSize { get; init; } = 50;

    /// <summary><c>connections.max.idle.ms</c>: a connection with no traffic and no request in flight for this long is closed.</summary>
    public long ConnectionsMaxIdleMs { get; init; } = DefaultConnectionsMaxIdleMs;

    /// <summary>
    /// How many complete frames a connection reads ahead while one request is in flight. Reading
    /// stops (and TCP pushes back on the client) when the queue is full.
    /// </summary>
    public int MaxQueuedRequestsPerConnection { get; init; } = 64;

    /// <summary>
    /// How many bytes of complete frames a connection reads ahead. A frame is always admitted when
    /// nothing is queued, whatever its size; Kafka itself reads one request per connection at a time.
    /// </summary>
    public long MaxQueuedBytesPerConnection { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long <see cref="SocketServer.StopAsync"/> waits for in-flight requests before aborting connections.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        if (Listeners.Count == 0)
        {
            throw new ArgumentException("At least one listener is required.", nameof(Listeners));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var listener in Listeners)
        {
            if (string.IsNullOrEmpty(listener.Name))
            {
                throw new ArgumentException("A listener needs a name.", nameof(Listeners));
            }

            if (!names.Add(listener.Name))
            {
                throw new ArgumentException($"Listener name '{listener.Name}' is used twice.", nameof(Listeners));
            }

            if (listener.Port is < 0 or > 65535)
            {
                throw new ArgumentException($"Listener '{listener.Name}' has invalid port {listener.Port}.", nameof(Listeners));
            }
        }

        if (SocketRequestMaxBytes < 8)
        {
            throw new ArgumentException("socket.request.max.bytes must be at least 8.", nameof(SocketRequestMaxBytes));
        }

        if (SocketListenBacklogSize < 1)
        {
            throw new ArgumentException("socket.listen.backlog.size must be at least 1.", nameof(SocketListenBacklogSize));
        }

        if (ConnectionsMaxIdleMs <= 0)
        {
            throw new ArgumentException("connections.max.idle.ms must be positive.", nameof(ConnectionsMaxIdleMs));
        }

        if (MaxQueuedBytesPerConnection < 0)
        {
            throw new ArgumentException("MaxQueuedBytesPerConnection must not be negative.", nameof(MaxQueuedBytesPerConnection));
        }

        if (MaxQueuedRequestsPerConnection < 1)
        {
            throw new ArgumentException("MaxQueuedRequestsPerConnection must be at least 1.", nameof(MaxQueuedRequestsPerConnection));
        }
    }
}
