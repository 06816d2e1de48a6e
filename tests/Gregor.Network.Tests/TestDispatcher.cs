using System.Buffers;
using System.Buffers.Binary;
using Gregor.Broker.Dispatch;

namespace Gregor.Network.Tests;

/// <summary>
/// A framing-test dispatcher, not a Kafka mock. It reads the request header's api key and
/// correlation id (the first 8 bytes) and then a 4-byte command: the response echoes the
/// correlation id and the whole request after it.
/// </summary>
internal sealed class TestDispatcher : IRequestDispatcher
{
    public const short EchoKey = 18;
    public const short NoResponseKey = 0;
    public const short InvalidKey = 99;
    public const short ThrowKey = 98;

    private int _concurrent;

    public int MaxConcurrent { get; private set; }

    public int Dispatched => Volatile.Read(ref _dispatched);

    private int _dispatched;

    /// <summary>Signalled whenever a request starts (its correlation id).</summary>
    public TaskCompletionSource<int> Started { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<int> Order { get; } = [];

    public async ValueTask<ResponseFrame?> DispatchAsync(ConnectionContext connection, Memory<byte> request, CancellationToken cancellationToken)
    {
        var concurrent = Interlocked.Increment(ref _concurrent);
        try
        {
            lock (Order)
            {
                MaxConcurrent = Math.Max(MaxConcurrent, concurrent);
            }

            var apiKey = BinaryPrimitives.ReadInt16BigEndian(request.Span);
            var correlationId = BinaryPrimitives.ReadInt32BigEndian(request.Span[4..]);
            var delayMs = request.Length >= 12 ? BinaryPrimitives.ReadInt32BigEndian(request.Span[8..]) : 0;
            lock (Order)
            {
                Order.Add(correlationId);
            }

            Interlocked.Increment(ref _dispatched);
            Started.TrySetResult(correlationId);
            if (delayMs > 0)
            {
                await Task.Delay(delayMs, cancellationToken);
            }

            switch (apiKey)
            {
                case NoResponseKey:
                    return null;
                case InvalidKey:
                    throw new InvalidRequestException("test: unparseable request");
                case ThrowKey:
                    throw new InvalidOperationException("test: handler bug");
            }

            var length = 4 + 4 + request.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            BinaryPrimitives.WriteInt32BigEndian(buffer, length - 4);
            BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(4), correlationId);
            request.Span.CopyTo(buffer.AsSpan(8));
            return new ResponseFrame(buffer, length, pooled: true);
        }
        finally
        {
            Interlocked.Decrement(ref _concurrent);
        }
    }

    /// <summary>A whole request frame (size prefix included): api key, version 0, correlation id, delay, payload.</summary>
    public static byte[] Frame(short apiKey, int correlationId, int delayMs = 0, int payloadBytes = 0)
    {
        var frame = new byte[4 + 12 + payloadBytes];
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), apiKey);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), correlationId);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(12), delayMs);
        for (var i = 0; i < payloadBytes; i++)
        {
            frame[16 + i] = (byte)(i * 7);
        }

        return frame;
    }
}
