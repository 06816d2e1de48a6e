using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gregor.Broker.Tests.Groups;

/// <summary>
/// A TCP proxy in front of the broker that can silence one client: requests whose header names a
/// frozen client id are swallowed, so that client's heartbeats stop reaching the broker exactly as
/// if its process had hung — while its consumer object stays alive in the test.
/// </summary>
internal sealed class FreezingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, bool> _frozen = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<TcpClient> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;

    public FreezingProxy()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    /// <summary>Where the broker really listens; set once it has started.</summary>
    public IPEndPoint? Target { get; set; }

    public void Start() => _acceptLoop = AcceptLoopAsync();

    public void Freeze(string clientId) => _frozen[clientId] = true;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                return;
            }

            var upstream = new TcpClient { NoDelay = true };
            try
            {
                await upstream.ConnectAsync(Target!, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            _sockets.Add(client);
            _sockets.Add(upstream);
            _ = PumpRequestsAsync(client.GetStream(), upstream.GetStream());
            _ = PumpResponsesAsync(upstream.GetStream(), client.GetStream());
        }
    }

    private async Task PumpRequestsAsync(NetworkStream from, NetworkStream to)
    {
        var size = new byte[4];
        try
        {
            while (true)
            {
                await from.ReadExactlyAsync(size, _stop.Token).ConfigureAwait(false);
                var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
                await from.ReadExactlyAsync(frame, _stop.Token).ConfigureAwait(false);
                if (_frozen.ContainsKey(ClientId(frame)))
                {
                    continue;
                }

                await to.WriteAsync(size, _stop.Token).ConfigureAwait(false);
                await to.WriteAsync(frame, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            from.Dispose();
            to.Dispose();
        }
    }

    private async Task PumpResponsesAsync(NetworkStream from, NetworkStream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
        }

        from.Dispose();
        to.Dispose();
    }

    /// <summary>Request header v1+: api key, api version, correlation id, then the client id as an int16-length string.</summary>
    private static string ClientId(byte[] frame)
    {
        if (frame.Length < 10)
        {
            return string.Empty;
        }

        var length = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(8));
        return length <= 0 || 10 + length > frame.Length ? string.Empty : Encoding.UTF8.GetString(frame, 10, length);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
