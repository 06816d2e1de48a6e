namespace Gregor.Protocol.Records;

/// <summary>
/// A record or batch that cannot be decoded. <see cref="ErrorCode"/> is what a produce response
/// reports for it (INVALID_RECORD or CORRUPT_MESSAGE).
/// </summary>
public sealed class InvalidRecordException : Exception
{
    public InvalidRecordException(string message, ErrorCode errorCode = ErrorCode.InvalidRecord)
        : base(message) => ErrorCode = errorCode;

    public InvalidRecordException(string message, Exception innerException, ErrorCode errorCode = ErrorCode.InvalidRecord)
        : base(message, innerException) => ErrorCode = errorCode;

    public ErrorCode ErrorCode { get; }
}
