using System.Buffers.Binary;
using System.Net.Sockets;

namespace Gregor.TestKit;

/// <summary>
/// A bare TCP connection to a broker for tests that must send exactly the bytes they choose:
/// malformed frames, hand-encoded requests.
/// </summary>
public sealed class RawConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private RawConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RawConnection> ConnectAsync(string bootstrapServers)
    {
        var first = bootstrapServers.Split(',')[0];
        var colon = first.LastIndexOf(':');
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(first[..colon].Trim('[', ']'), int.Parse(first[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return new RawConnection(client);
    }

    public Task SendRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>Sends a frame: the 4-byte big-endian size, then <paramref name="body"/>.</summary>
    public async Task SendFrameAsync(byte[] body)
    {
        var frame = new byte[body.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        await _stream.WriteAsync(frame).ConfigureAwait(false);
    }

    /// <summary>Reads one response frame (without its size prefix).</summary>
    public async Task<byte[]> ReceiveFrameAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var size = new byte[4];
        await _stream.ReadExactlyAsync(size, cts.Token).ConfigureAwait(false);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await _stream.ReadExactlyAsync(body, cts.Token).ConfigureAwait(false);
        return body;
    }

    /// <summary>True when the broker closes the connection (end of stream or reset) within the timeout.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
