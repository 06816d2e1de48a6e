using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>
/// A loopback TCP proxy in front of the broker that lets the first <c>n</c> Produce requests
/// reach the broker and then cuts the connection instead of passing their responses back: the
/// broker appended, the client never heard, so it must retry.
/// </summary>
internal sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private int _producesToCut;
    private int _cuts;
    private Task? _acceptLoop;

    public CuttingProxy(int producesToCut)
    {
        _producesToCut = producesToCut;
        _listener.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections cut after the broker answered a Produce.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    public void Start(IPEndPoint broker) => _acceptLoop = AcceptAsync(broker);

    private async Task AcceptAsync(IPEndPoint broker)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var upstream = new TcpClient();
            await upstream.ConnectAsync(broker);
            var toCut = new ConcurrentDictionary<int, bool>();
            lock (_tasks)
            {
                _tasks.Add(PumpRequestsAsync(client, upstream, toCut));
                _tasks.Add(PumpResponsesAsync(upstream, client, toCut));
            }
        }
    }

    private async Task PumpRequestsAsync(TcpClient client, TcpClient upstream, ConcurrentDictionary<int, bool> toCut)
    {
        try
        {
            var from = client.GetStream();
            var to = upstream.GetStream();
            while (await ReadFrameAsync(from) is { } frame)
            {
                var apiKey = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(4));
                if (apiKey == 0 && Interlocked.Decrement(ref _producesToCut) >= 0)
                {
                    toCut[BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(8))] = true;
                }

                await to.WriteAsync(frame);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task PumpResponsesAsync(TcpClient upstream, TcpClient client, ConcurrentDictionary<int, bool> toCut)
    {
        try
        {
            var from = upstream.GetStream();
            var to = client.GetStream();
            while (await ReadFrameAsync(from) is { } frame)
            {
                if (toCut.ContainsKey(BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4))))
                {
                    Interlocked.Increment(ref _cuts);
                    break;
                }

                await to.WriteAsync(frame);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    private static async Task<byte[]?> ReadFrameAsync(NetworkStream stream)
    {
        var size = new byte[4];
        if (!await ReadExactlyAsync(stream, size))
        {
            return null;
        }

        var frame = new byte[4 + BinaryPrimitives.ReadInt32BigEndian(size)];
        size.CopyTo(frame, 0);
        return await ReadExactlyAsync(stream, frame.AsMemory(4)) ? frame : null;
    }

    private static async Task<bool> ReadExactlyAsync(NetworkStream stream, Memory<byte> buffer)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }

        Task[] tasks;
        lock (_tasks)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
