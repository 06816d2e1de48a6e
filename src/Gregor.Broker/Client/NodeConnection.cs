using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;

namespace Gregor.Broker.Client;

/// <summary>
/// One Kafka-protocol connection from this node to another Gregor node: what a follower fetches
/// through, what a broker registers and heartbeats through, what the transaction coordinator sends
/// markers through. Requests are pipelined (Kafka answers in order on a connection; responses are
/// matched by correlation id all the same). Any I/O failure fails every outstanding request with
/// <see cref="NodeConnectionException"/> and closes the connection; the pool opens a new one.
/// </summary>
public sealed class NodeConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly string _clientId;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<int, Pending> _pending = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _readLoop;
    private int _nextCorrelationId;
    private int _failed;

    private NodeConnection(Socket socket, string clientId, string endpoint)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _clientId = clientId;
        Endpoint = endpoint;
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary><c>host:port</c> of the peer.</summary>
    public string Endpoint { get; }

    /// <summary>False once the connection failed or was closed; the pool replaces it.</summary>
    public bool IsOpen => Volatile.Read(ref _failed) == 0;

    public static async Task<NodeConnection> ConnectAsync(string host, int port, string clientId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new NodeConnectionException($"Could not connect to {host}:{port}: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new NodeConnection(socket, clientId, $"{host}:{port}");
    }

    /// <summary>
    /// Sends <paramref name="request"/> at <paramref name="version"/> and returns its response.
    /// Throws <see cref="NodeConnectionException"/> when the connection fails or the timeout passes
    /// (the connection is then closed: a late response must not be matched to a later request).
    /// </summary>
    public async Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short version, TimeSpan timeout, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsOpen)
        {
            throw new NodeConnectionException($"The connection to {Endpoint} is closed.");
        }

        var correlationId = Interlocked.Increment(ref _nextCorrelationId);
        var pending = new Pending(request.ApiKey, version);
        _pending[correlationId] = pending;
        try
        {
            await WriteRequestAsync(request, version, correlationId, cancellationToken).ConfigureAwait(false);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeout);
            try
            {
                var response = await pending.Completion.Task.WaitAsync(cts.Token).ConfigureAwait(false);
                return (TResponse)response;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Fail(new NodeConnectionException($"{request.ApiKey} v{version} to {Endpoint} timed out after {timeout.TotalMilliseconds:0} ms."));
                throw new NodeConnectionException($"{request.ApiKey} v{version} to {Endpoint} timed out after {timeout.TotalMilliseconds:0} ms.");
            }
        }
        finally
        {
            _pending.TryRemove(correlationId, out _);
        }
    }

    private async Task WriteRequestAsync(IRequestMessage request, short version, int correlationId, CancellationToken cancellationToken)
    {
        var headerVersion = ApiMessages.RequestHeaderVersion(request.ApiKey, version);
        var header = new RequestHeader
        {
            RequestApiKey = (short)request.ApiKey,
            RequestApiVersion = version,
            CorrelationId = correlationId,
            ClientId = _clientId,
        };
        var length = header.Size(headerVersion) + request.Size(version);
        var buffer = ArrayPool<byte>.Shared.Rent(4 + length);
        try
        {
            BinaryPrimitives.WriteInt32BigEndian(buffer, length);
            Encode(buffer.AsSpan(4, length), header, headerVersion, request, version);
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(buffer.AsMemory(0, 4 + length), _closed.Token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException || (e is OperationCanceledException && _closed.IsCancellationRequested))
        {
            var failure = new NodeConnectionException($"Sending {request.ApiKey} to {Endpoint} failed: {e.Message}", e);
            Fail(failure);
            throw failure;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Encode(Span<byte> target, RequestHeader header, short headerVersion, IRequestMessage request, short version)
    {
        var writer = new KafkaWriter(target);
        header.Write(ref writer, headerVersion);
        request.Write(ref writer, version);
    }

    private async Task ReadLoopAsync()
    {
        var sizeBuffer = new byte[4];
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(sizeBuffer, _closed.Token).ConfigureAwait(false);
                var size = BinaryPrimitives.ReadInt32BigEndian(sizeBuffer);
                if (size < 4)
                {
                    throw new ProtocolException($"Response frame of {size} bytes from {Endpoint}.");
                }

                var frame = new byte[size];
                await _stream.ReadExactlyAsync(frame, _closed.Token).ConfigureAwait(false);
                var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame);
                if (!_pending.TryGetValue(correlationId, out var pending))
                {
                    // A request that timed out closed the connection; anything else is a peer bug.
                    throw new ProtocolException($"Response with unknown correlation id {correlationId} from {Endpoint}.");
                }

                pending.Complete(frame);
            }
        }
        catch (Exception e)
        {
            Fail(new NodeConnectionException($"The connection to {Endpoint} failed: {e.Message}", e));
        }
    }

    private void Fail(NodeConnectionException failure)
    {
        if (Interlocked.Exchange(ref _failed, 1) != 0)
        {
            return;
        }

        _closed.Cancel();
        _socket.Dispose();
        foreach (var pending in _pending.Values)
        {
            pending.Completion.TrySetException(failure);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Fail(new NodeConnectionException($"The connection to {Endpoint} was closed."));
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Closing is the point.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _closed.Dispose();
        _writeLock.Dispose();
    }

    private sealed class Pending(ApiKey apiKey, short version)
    {
        public TaskCompletionSource<IResponseMessage> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Complete(byte[] frame)
        {
            try
            {
                var reader = new KafkaReader(frame);
                var header = new ResponseHeader();
                header.Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
                var response = ApiMessages.CreateResponse(apiKey);
                response.Read(ref reader, version);
                Completion.TrySetResult(response);
            }
            catch (ProtocolException e)
            {
                Completion.TrySetException(new NodeConnectionException($"Malformed {apiKey} v{version} response: {e.Message}", e));
            }
        }
    }
}

/// <summary>A request to another node failed in transport (connect, send, receive, timeout); it may or may not have been processed.</summary>
public sealed class NodeConnectionException : Exception
{
    public NodeConnectionException()
    {
    }

    public NodeConnectionException(string message)
        : base(message)
    {
    }

    public NodeConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
