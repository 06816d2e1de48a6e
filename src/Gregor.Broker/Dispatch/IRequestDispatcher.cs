using System.Net;

namespace Gregor.Broker.Dispatch;

/// <summary>
/// The seam between the network layer and the broker. The network layer owns framing and the order
/// of responses on a connection; the dispatcher owns everything inside a frame.
/// </summary>
public interface IRequestDispatcher
{
    /// <summary>
    /// Handles one request. <paramref name="request"/> is the frame without its 4-byte size prefix,
    /// in a buffer the caller owns until the returned task completes (handlers may patch it in
    /// place, as produce does with base offsets). Returns the whole response frame, size prefix
    /// included, or <c>null</c> when the protocol sends no response (produce with acks=0).
    /// Throws <see cref="InvalidRequestException"/> when the frame cannot be understood; the caller
    /// then closes only this connection.
    /// </summary>
    ValueTask<ResponseFrame?> DispatchAsync(ConnectionContext connection, Memory<byte> request, CancellationToken cancellationToken);
}

/// <summary>What a handler may know about the connection a request arrived on.</summary>
public sealed class ConnectionContext
{
    public ConnectionContext(long connectionId, string listenerName, EndPoint? localEndPoint, EndPoint? remoteEndPoint)
    {
        ConnectionId = connectionId;
        ListenerName = listenerName;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
    }

    public long ConnectionId { get; }

    public string ListenerName { get; }

    public EndPoint? LocalEndPoint { get; }

    public EndPoint? RemoteEndPoint { get; }

    /// <summary>The client id of the last request seen on this connection (for logs and metrics).</summary>
    public string? ClientId { get; set; }

    /// <summary>Software name/version from ApiVersions v3+ (KIP-511).</summary>
    public string? ClientSoftwareName { get; set; }

    public string? ClientSoftwareVersion { get; set; }
}

/// <summary>
/// A complete response frame (4-byte size prefix included) in a pooled buffer. The network layer
/// writes <see cref="Memory"/> to the socket and then disposes the frame, returning the buffer.
/// </summary>
public sealed class ResponseFrame : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;
    private readonly bool _pooled;

    public ResponseFrame(byte[] buffer, int length, bool pooled)
    {
        _buffer = buffer;
        _length = length;
        _pooled = pooled;
    }

    public ReadOnlyMemory<byte> Memory => _buffer is null
        ? throw new ObjectDisposedException(nameof(ResponseFrame))
        : new ReadOnlyMemory<byte>(_buffer, 0, _length);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _pooled)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>A frame that cannot be parsed. The connection it came on is closed; nothing else is affected.</summary>
public sealed class InvalidRequestException : Exception
{
    public InvalidRequestException(string message)
        : base(message)
    {
    }

    public InvalidRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
