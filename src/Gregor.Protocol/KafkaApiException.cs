namespace Gregor.Protocol;

/// <summary>
/// A failure that has a Kafka error code (Kafka's ApiException): thrown where a request cannot go
/// on, and answered with <see cref="Error"/> rather than a closed connection.
/// </summary>
public sealed class KafkaApiException : Exception
{
    public KafkaApiException(ErrorCode error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    public ErrorCode Error { get; }
}
