namespace Gregor.Protocol.Records;

/// <summary>Bit 3 of a record batch's attributes; <see cref="NoTimestampType"/> is what magic 0 batches carry.</summary>
public enum TimestampType
{
    NoTimestampType = -1,
    CreateTime = 0,
    LogAppendTime = 1,
}
