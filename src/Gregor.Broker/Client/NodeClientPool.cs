using System.Collections.Concurrent;
using Gregor.Protocol;

namespace Gregor.Broker.Client;

/// <summary>
/// Connections from this node to other nodes, one per (endpoint, purpose). A Kafka broker handles
/// one request per connection at a time, so a follower's long-polling Fetch must not share a
/// connection with heartbeats or AlterPartition: callers name their purpose ("replica-fetcher-2",
/// "controller", "txn-markers"). A failed connection is replaced on the next send.
/// </summary>
public sealed class NodeClientPool : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Host, int Port, string Purpose), Lazy<Task<NodeConnection>>> _connections = new();
    private readonly string _clientId;
    private volatile bool _disposed;

    /// <param name="clientId">The client id other nodes log for these requests (e.g. <c>gregor-broker-1</c>).</param>
    public NodeClientPool(string clientId, TimeSpan? connectTimeout = null)
    {
        _clientId = clientId;
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5);
    }

    public TimeSpan ConnectTimeout { get; }

    /// <summary>Sends one request and returns its response; see <see cref="NodeConnection.SendAsync{TResponse}"/>.</summary>
    public async Task<TResponse> SendAsync<TResponse>(
        string host, int port, string purpose, IRequestMessage request, short version, TimeSpan timeout, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = await GetAsync(host, port, purpose, cancellationToken).ConfigureAwait(false);
        return await connection.SendAsync<TResponse>(request, version, timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<NodeConnection> GetAsync(string host, int port, string purpose, CancellationToken cancellationToken)
    {
        var key = (host, port, purpose);
        while (true)
        {
            var lazy = _connections.GetOrAdd(key, k => new Lazy<Task<NodeConnection>>(
                () => NodeConnection.ConnectAsync(k.Host, k.Port, _clientId, ConnectTimeout, CancellationToken.None)));
            NodeConnection connection;
            try
            {
                connection = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NodeConnectionException)
            {
                _connections.TryRemove(KeyValuePair.Create(key, lazy));
                throw;
            }

            if (connection.IsOpen)
            {
                return connection;
            }

            if (_connections.TryRemove(KeyValuePair.Create(key, lazy)))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Closes the connections to one endpoint (a node that left or moved).</summary>
    public async Task CloseAsync(string host, int port)
    {
        foreach (var key in _connections.Keys.Where(k => k.Host == host && k.Port == port).ToList())
        {
            if (_connections.TryRemove(key, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var key in _connections.Keys.ToList())
        {
            if (_connections.TryRemove(key, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
