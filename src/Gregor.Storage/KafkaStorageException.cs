namespace Gregor.Storage;

/// <summary>
/// Kafka's KafkaStorageException: the log could not carry out the operation on disk. The partition
/// answers KAFKA_STORAGE_ERROR (retriable). <see cref="LogOffline"/> says the log went offline
/// because it could not be put back into a consistent state; it stays so until the broker
/// restarts and recovery rebuilds it from the segment files.
/// </summary>
public sealed class KafkaStorageException : IOException
{
    public KafkaStorageException(string message, Exception? innerException = null, bool logOffline = false)
        : base(message, innerException) => LogOffline = logOffline;

    public bool LogOffline { get; }
}
