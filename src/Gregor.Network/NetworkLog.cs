using System.Net;
using Microsoft.Extensions.Logging;

namespace Gregor.Network;

/// <summary>Every log line of the network layer, source-generated.</summary>
internal static partial class NetworkLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listener {ListenerName} bound to {EndPoint}")]
    public static partial void ListenerBound(ILogger logger, string listenerName, EndPoint endPoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Listener {ListenerName} could not bind {Address}, skipping it")]
    public static partial void ListenerAddressSkipped(ILogger logger, string listenerName, IPAddress address, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Accept loop of listener {ListenerName} on {EndPoint} failed")]
    public static partial void AcceptFailed(ILogger logger, string listenerName, EndPoint? endPoint, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Connection {ConnectionId} accepted on {ListenerName} from {RemoteEndPoint}")]
    public static partial void ConnectionAccepted(ILogger logger, long connectionId, string listenerName, EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {RemoteEndPoint} closed")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {RemoteEndPoint}: invalid request size {Size} (socket.request.max.bytes is {MaxBytes})")]
    public static partial void InvalidFrameSize(ILogger logger, long connectionId, EndPoint? remoteEndPoint, int size, int maxBytes);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {RemoteEndPoint} (client {ClientId}): invalid request")]
    public static partial void InvalidRequest(ILogger logger, long connectionId, EndPoint? remoteEndPoint, string? clientId, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Closing connection {ConnectionId} from {RemoteEndPoint} (client {ClientId}): request processing failed")]
    public static partial void DispatchFailed(ILogger logger, long connectionId, EndPoint? remoteEndPoint, string? clientId, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {RemoteEndPoint} closed by the client in the middle of a request ({Received} of {Size} bytes)")]
    public static partial void ClosedMidFrame(ILogger logger, long connectionId, EndPoint? remoteEndPoint, long received, long size);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {RemoteEndPoint} failed")]
    public static partial void ConnectionFailed(ILogger logger, long connectionId, EndPoint? remoteEndPoint, Exception exception);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Closing connection {ConnectionId} from {RemoteEndPoint}: idle for more than {IdleMs} ms (connections.max.idle.ms)")]
    public static partial void IdleConnectionClosed(ILogger logger, long connectionId, EndPoint? remoteEndPoint, long idleMs);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Socket server stopping: {ConnectionCount} connections open")]
    public static partial void Stopping(ILogger logger, int connectionCount);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Socket server shutdown timed out; aborting {ConnectionCount} connections")]
    public static partial void ShutdownTimedOut(ILogger logger, int connectionCount);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Socket server stopped")]
    public static partial void Stopped(ILogger logger);
}
