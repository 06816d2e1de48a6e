using System.Buffers.Binary;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;

namespace Gregor.Protocol;

/// <summary>
/// The classic consumer protocol ("consumer" protocol type): the subscription a member sends in
/// JoinGroup's metadata and the assignment the leader hands out in SyncGroup, each an int16 version
/// followed by the struct.
/// </summary>
public static class ConsumerProtocol
{
    public const string ProtocolType = "consumer";

    public static ConsumerProtocolSubscription ReadSubscription(ReadOnlyMemory<byte> data, out short version)
    {
        var reader = new KafkaReader(data);
        version = CheckVersion(reader.ReadInt16(), ConsumerProtocolSubscription.LowestVersion, ConsumerProtocolSubscription.HighestVersion);
        var subscription = new ConsumerProtocolSubscription();
        subscription.Read(ref reader, version);
        return subscription;
    }

    public static ConsumerProtocolAssignment ReadAssignment(ReadOnlyMemory<byte> data, out short version)
    {
        var reader = new KafkaReader(data);
        version = CheckVersion(reader.ReadInt16(), ConsumerProtocolAssignment.LowestVersion, ConsumerProtocolAssignment.HighestVersion);
        var assignment = new ConsumerProtocolAssignment();
        assignment.Read(ref reader, version);
        return assignment;
    }

    public static byte[] Write(ConsumerProtocolSubscription subscription, short version) =>
        WriteVersioned(subscription, CheckVersion(version, ConsumerProtocolSubscription.LowestVersion, ConsumerProtocolSubscription.HighestVersion));

    public static byte[] Write(ConsumerProtocolAssignment assignment, short version) =>
        WriteVersioned(assignment, CheckVersion(version, ConsumerProtocolAssignment.LowestVersion, ConsumerProtocolAssignment.HighestVersion));

    // Newer consumer protocol versions only append fields, so Kafka reads a version it does not
    // know as its highest one and ignores the rest (ConsumerProtocol.checkSubscriptionVersion).
    private static short CheckVersion(short version, short lowest, short highest)
    {
        if (version < lowest)
        {
            throw new ProtocolException($"Unsupported consumer protocol version {version}.");
        }

        return Math.Min(version, highest);
    }

    private static byte[] WriteVersioned(IKafkaMessage message, short version)
    {
        var buffer = new byte[2 + message.Size(version)];
        BinaryPrimitives.WriteInt16BigEndian(buffer, version);
        var writer = new KafkaWriter(buffer.AsSpan(2));
        message.Write(ref writer, version);
        return buffer;
    }
}
