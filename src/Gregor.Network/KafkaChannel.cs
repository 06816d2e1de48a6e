using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Gregor.Broker.Dispatch;
using Microsoft.Extensions.Logging;

namespace Gregor.Network;

/// <summary>
/// One client connection: a receive loop that frames requests into a small bounded queue, and a
/// processing loop that dispatches them one at a time and writes responses in request order.
/// </summary>
/// <remarks>
/// Kafka mutes a channel while a request is in flight so that produce requests from one producer
/// are appended in the order they were sent; the single processing loop gives the same guarantee.
/// Reading ahead continues meanwhile, because librdkafka pipelines many requests per connection.
/// </remarks>
internal sealed class KafkaChannel
{
    // Past this many unflushed response bytes, flush even if more requests are queued.
    private const int FlushThresholdBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Channel<PendingRequest> _queue;
    private readonly IRequestDispatcher _dispatcher;
    private readonly NetworkOptions _options;
    private readonly ILogger _logger;
    private readonly NetworkMetrics _metrics;
    private readonly TagList _tags;
    private readonly TimeProvider _timeProvider;

    // Cancelled to stop reading new requests (graceful close, idle close, a bad frame).
    private readonly CancellationTokenSource _receiveStop = new();

    // Cancelled only to abort the in-flight request (shutdown timeout).
    private readonly CancellationTokenSource _abort = new();

    // Read-ahead is bounded in bytes too: the receive loop waits on _drained while more than
    // MaxQueuedBytesPerConnection are queued.
    private readonly SemaphoreSlim _drained = new(0);
    private long _queuedBytes;
    private int _receiveWaiting;

    private long _lastActivityTimestamp;
    private volatile bool _closing;
    private int _requestInFlight;

    public KafkaChannel(
        long connectionId,
        string listenerName,
        Socket socket,
        IRequestDispatcher dispatcher,
        NetworkOptions options,
        ILogger logger,
        NetworkMetrics metrics,
        TimeProvider timeProvider)
    {
        _socket = socket;
        _dispatcher = dispatcher;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _tags = NetworkMetrics.Tags(listenerName);
        Context = new ConnectionContext(connectionId, listenerName, socket.LocalEndPoint, socket.RemoteEndPoint);
        _stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 4096, leaveOpen: true));
        _output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 65536, leaveOpen: true));
        _queue = Channel.CreateBounded<PendingRequest>(new BoundedChannelOptions(options.MaxQueuedRequestsPerConnection)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
        _lastActivityTimestamp = timeProvider.GetTimestamp();
    }

    public ConnectionContext Context { get; }

    public long ConnectionId => Context.ConnectionId;

    public Task RunTask { get; private set; } = Task.CompletedTask;

    public void Start() => RunTask = RunAsync();

    /// <summary>Stops reading requests; the in-flight request completes and its response is flushed.</summary>
    public void Close()
    {
        _closing = true;
        try
        {
            _receiveStop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Also cancels the in-flight request.</summary>
    public void Abort()
    {
        Close();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public bool CloseIfIdle(long nowTimestamp, TimeSpan maxIdle)
    {
        // Queued requests do not count: they wait only because responses cannot be written.
        if (_closing || Volatile.Read(ref _requestInFlight) != 0)
        {
            return false;
        }

        if (_timeProvider.GetElapsedTime(Volatile.Read(ref _lastActivityTimestamp), nowTimestamp) < maxIdle)
        {
            return false;
        }

        NetworkLog.IdleConnectionClosed(_logger, ConnectionId, Context.RemoteEndPoint, (long)maxIdle.TotalMilliseconds);

        // Abort, not Close: no request is in flight, but a flush to a client that stopped reading
        // may be, and only the abort token cancels it.
        Abort();
        return true;
    }

    private void Touch() => Volatile.Write(ref _lastActivityTimestamp, _timeProvider.GetTimestamp());

    private async Task RunAsync()
    {
        // Both loops start on the thread pool so the accept loop never runs connection code.
        await Task.Yield();
        var receive = ReceiveLoopAsync();
        var process = ProcessLoopAsync();
        await Task.WhenAll(receive, process).ConfigureAwait(false);

        // Responses written before a failure still go out, but only as long as the abort token
        // allows: completing a stream pipe writer without an exception flushes without one, and
        // would block forever on a client that stopped reading.
        Exception? outputError = null;
        try
        {
            await _output.FlushAsync(_abort.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            outputError = ex;
        }

        if (outputError is null && _abort.IsCancellationRequested)
        {
            outputError = new OperationCanceledException("Connection aborted.");
        }

        try
        {
            await _output.CompleteAsync(outputError).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        await _input.CompleteAsync().ConfigureAwait(false);

        while (_queue.Reader.TryRead(out var dropped))
        {
            ArrayPool<byte>.Shared.Return(dropped.Buffer);
        }

        try
        {
            // FIN after the last response rather than an abortive close, so the client reads it.
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _stream.Dispose();
        _socket.Dispose();
        _receiveStop.Dispose();
        _abort.Dispose();
        _drained.Dispose();
        NetworkLog.ConnectionClosed(_logger, ConnectionId, Context.RemoteEndPoint);
    }

    private async Task ReceiveLoopAsync()
    {
        byte[]? frame = null;
        var frameSize = 0;
        var filled = 0;
        var token = _receiveStop.Token;
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    Touch();
                }

                var consumedBefore = buffer.Length;
                while (true)
                {
                    if (frame is null)
                    {
                        if (!TryReadSize(buffer, out var size))
                        {
                            break;
                        }

                        if (size < 8 || size > _options.SocketRequestMaxBytes)
                        {
                            NetworkLog.InvalidFrameSize(_logger, ConnectionId, Context.RemoteEndPoint, size, _options.SocketRequestMaxBytes);
                            _input.AdvanceTo(buffer.Start);
                            return;
                        }

                        buffer = buffer.Slice(4);
                        frame = ArrayPool<byte>.Shared.Rent(size);
                        frameSize = size;
                        filled = 0;
                    }

                    filled += CopyTo(ref buffer, frame.AsSpan(filled, frameSize - filled));
                    if (filled < frameSize)
                    {
                        break;
                    }

                    var request = new PendingRequest(frame, frameSize);
                    frame = null;
                    _metrics.RequestTotal.Add(1, _tags);
                    if (!_queue.Writer.TryWrite(request))
                    {
                        try
                        {
                            await _queue.Writer.WriteAsync(request, token).ConfigureAwait(false);
                        }
                        catch
                        {
                            ArrayPool<byte>.Shared.Return(request.Buffer);
                            throw;
                        }
                    }

                    Interlocked.Add(ref _queuedBytes, request.Length);
                    while (Volatile.Read(ref _queuedBytes) > _options.MaxQueuedBytesPerConnection)
                    {
                        Volatile.Write(ref _receiveWaiting, 1);
                        if (Volatile.Read(ref _queuedBytes) <= _options.MaxQueuedBytesPerConnection)
                        {
                            Volatile.Write(ref _receiveWaiting, 0);
                            break;
                        }

                        await _drained.WaitAsync(token).ConfigureAwait(false);
                    }
                }

                _metrics.IncomingByteTotal.Add(consumedBefore - buffer.Length, _tags);
                _input.AdvanceTo(buffer.Start, buffer.End);

                if (result.IsCompleted)
                {
                    if (frame is not null || !buffer.IsEmpty)
                    {
                        NetworkLog.ClosedMidFrame(_logger, ConnectionId, Context.RemoteEndPoint, frame is null ? buffer.Length : filled, frame is null ? 4 : frameSize);
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            NetworkLog.ConnectionFailed(_logger, ConnectionId, Context.RemoteEndPoint, ex);
        }
        finally
        {
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }

            // Whatever ended reading (client gone, bad frame, shutdown), queued requests are not
            // started: only the one already in flight completes.
            _closing = true;
            _queue.Writer.TryComplete();
        }
    }

    private async Task ProcessLoopAsync()
    {
        var reader = _queue.Reader;
        var token = _abort.Token;
        var unflushed = 0;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (!_closing && reader.TryRead(out var request))
                {
                    if (Interlocked.Add(ref _queuedBytes, -request.Length) <= _options.MaxQueuedBytesPerConnection
                        && Interlocked.Exchange(ref _receiveWaiting, 0) == 1)
                    {
                        _drained.Release();
                    }

                    ResponseFrame? response;
                    Volatile.Write(ref _requestInFlight, 1);
                    try
                    {
                        response = await _dispatcher.DispatchAsync(Context, new Memory<byte>(request.Buffer, 0, request.Length), token).ConfigureAwait(false);
                    }
                    catch (InvalidRequestException ex)
                    {
                        NetworkLog.InvalidRequest(_logger, ConnectionId, Context.RemoteEndPoint, Context.ClientId, ex);
                        return;
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception ex)
                    {
                        NetworkLog.DispatchFailed(_logger, ConnectionId, Context.RemoteEndPoint, Context.ClientId, ex);
                        return;
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(request.Buffer);
                        Volatile.Write(ref _requestInFlight, 0);
                        Touch();
                    }

                    if (response is not null)
                    {
                        using (response)
                        {
                            var memory = response.Memory;
                            _output.Write(memory.Span);
                            unflushed += memory.Length;
                            _metrics.OutgoingByteTotal.Add(memory.Length, _tags);
                            _metrics.ResponseTotal.Add(1, _tags);
                        }
                    }

                    // Under pipelining, responses to queued requests are written together.
                    if (unflushed > 0 && (reader.Count == 0 || _closing || unflushed >= FlushThresholdBytes))
                    {
                        unflushed = 0;
                        var flush = await _output.FlushAsync(token).ConfigureAwait(false);
                        Touch();
                        if (flush.IsCompleted || flush.IsCanceled)
                        {
                            return;
                        }
                    }
                }

                if (_closing)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            NetworkLog.ConnectionFailed(_logger, ConnectionId, Context.RemoteEndPoint, ex);
        }
        finally
        {
            Close();
        }
    }

    private static bool TryReadSize(in ReadOnlySequence<byte> buffer, out int size)
    {
        if (buffer.Length < 4)
        {
            size = 0;
            return false;
        }

        var first = buffer.FirstSpan;
        if (first.Length >= 4)
        {
            size = BinaryPrimitives.ReadInt32BigEndian(first);
            return true;
        }

        Span<byte> bytes = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(bytes);
        size = BinaryPrimitives.ReadInt32BigEndian(bytes);
        return true;
    }

    private static int CopyTo(ref ReadOnlySequence<byte> buffer, Span<byte> destination)
    {
        var count = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, count).CopyTo(destination);
        buffer = buffer.Slice(count);
        return count;
    }

    private readonly record struct PendingRequest(byte[] Buffer, int Length);
}
