using System.Buffers;
using Gregor.Protocol;

namespace Gregor.Storage;

/// <summary>Who is appending (Kafka's AppendOrigin): decides which checks apply and whether offsets are assigned.</summary>
public enum AppendOrigin
{
    /// <summary>A producer: full produce validation, offsets assigned.</summary>
    Client,

    /// <summary>The group or transaction coordinator: offsets assigned, control batches allowed.</summary>
    Coordinator,

    /// <summary>A follower copying the leader: offsets kept, must be above the log end.</summary>
    Replication,
}

/// <summary>
/// Outcome of <see cref="Log.Append"/>. On error nothing was appended and the offsets are -1.
/// <see cref="LogAppendTime"/> is -1 unless the topic uses LogAppendTime.
/// </summary>
public readonly record struct LogAppendInfo(
    ErrorCode Error,
    string? ErrorMessage,
    long FirstOffset,
    long LastOffset,
    long LogAppendTime,
    long MaxTimestamp,
    long LogStartOffset,
    int RecordCount,
    int ValidBytes)
{
    public bool IsSuccess => Error == ErrorCode.None;

    internal static LogAppendInfo Failed(ErrorCode error, string? message, long logStartOffset) =>
        new(error, message, -1, -1, -1, -1, logStartOffset, 0, 0);
}

/// <summary>ListOffsets' answer: the timestamp found, its offset and the leader epoch of its batch
/// (null when unknown). Offset -1 means no such record.</summary>
public readonly record struct TimestampAndOffset(long Timestamp, long Offset, int? LeaderEpoch)
{
    public static TimestampAndOffset NotFound => new(-1, -1, null);
}

/// <summary>
/// Whole record batches copied from the log into a pooled buffer. Dispose to return the buffer.
/// <see cref="Records"/> is empty at the log end or on error.
/// </summary>
public sealed class LogReadInfo : IDisposable
{
    private byte[]? _buffer;

    internal LogReadInfo(ErrorCode error, byte[]? buffer, int length, long firstOffset, long highWatermark, long logStartOffset, long logEndOffset)
    {
        Error = error;
        _buffer = buffer;
        Length = length;
        FirstOffset = firstOffset;
        HighWatermark = highWatermark;
        LogStartOffset = logStartOffset;
        LogEndOffset = logEndOffset;
    }

    public ErrorCode Error { get; }

    /// <summary>Base offset of the first batch returned (≤ the requested offset), or -1 when empty.</summary>
    public long FirstOffset { get; }

    public long HighWatermark { get; }

    public long LogStartOffset { get; }

    public long LogEndOffset { get; }

    public int Length { get; }

    public ReadOnlyMemory<byte> Records => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Length);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
