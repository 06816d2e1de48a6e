using Gregor.Protocol.Primitives;

namespace Gregor.Protocol;

/// <summary>A message generated from a definition in <c>Messages/*.def</c>.</summary>
public interface IKafkaMessage
{
    short LowestSupportedVersion { get; }

    short HighestSupportedVersion { get; }

    void Read(ref KafkaReader reader, short version);

    void Write(ref KafkaWriter writer, short version);

    /// <summary>The exact number of bytes <see cref="Write"/> produces for this version.</summary>
    int Size(short version);
}

/// <summary>The body of a request (after the request header).</summary>
public interface IRequestMessage : IKafkaMessage
{
    ApiKey ApiKey { get; }
}

/// <summary>The body of a response (after the response header).</summary>
public interface IResponseMessage : IKafkaMessage
{
    ApiKey ApiKey { get; }
}
