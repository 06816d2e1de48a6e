namespace Gregor.Protocol.Primitives;

/// <summary>
/// The bytes on the wire do not form a valid message: a truncated buffer, a negative or oversized
/// length, a null where the version forbids one. The connection that sent them cannot be trusted.
/// </summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException()
    {
    }

    public ProtocolException(string message)
        : base(message)
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
