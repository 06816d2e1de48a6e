namespace Gregor.Protocol.Primitives;

/// <summary>
/// A message cannot be written in the requested version: a field that version lacks holds a
/// non-default value and is not ignorable, as Kafka's own serializers refuse.
/// </summary>
public sealed class UnsupportedVersionException : Exception
{
    public UnsupportedVersionException()
    {
    }

    public UnsupportedVersionException(string message)
        : base(message)
    {
    }

    public UnsupportedVersionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
