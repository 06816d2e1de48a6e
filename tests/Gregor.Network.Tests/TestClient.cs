using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Gregor.Network.Tests;

internal sealed class TestClient : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;

    private TestClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    public static async Task<TestClient> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint).WaitAsync(Timeout);
        return new TestClient(socket);
    }

    public static Task<TestClient> ConnectAsync(int port) => ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None).WaitAsync(Timeout);

    /// <summary>Reads one response frame; returns the correlation id and the bytes after it.</summary>
    public async Task<(int CorrelationId, byte[] Body)> ReadResponseAsync()
    {
        var size = new byte[4];
        await ReadExactlyAsync(size);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await ReadExactlyAsync(frame);
        return (BinaryPrimitives.ReadInt32BigEndian(frame), frame[4..]);
    }

    /// <summary>True when the server closes the connection (EOF or reset) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan? within = null)
    {
        var buffer = new byte[256];
        try
        {
            using var cts = new CancellationTokenSource(within ?? Timeout);
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (read == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task ReadExactlyAsync(byte[] buffer)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var offset = 0;
        while (offset < buffer.Length)
        {
            var read = await _socket.ReceiveAsync(buffer.AsMemory(offset), SocketFlags.None, cts.Token);
            if (read == 0)
            {
                throw new IOException($"Connection closed after {offset} of {buffer.Length} bytes.");
            }

            offset += read;
        }
    }

    public void Dispose() => _socket.Dispose();
}
