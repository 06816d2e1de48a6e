using System.Buffers.Binary;
using System.Text;

namespace Gregor.Coordinator.Groups;

/// <summary>
/// Reads the topics of a classic consumer's <c>ConsumerProtocolSubscription</c> (the member metadata
/// of protocol type "consumer"): int16 version, then an array of int16-length strings in every version.
/// </summary>
internal static class ConsumerProtocol
{
    public static bool TryReadSubscriptionTopics(ReadOnlySpan<byte> metadata, out HashSet<string> topics)
    {
        topics = new HashSet<string>(StringComparer.Ordinal);
        if (metadata.Length < 6)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(metadata[2..]);
        var position = 6;
        for (var i = 0; i < count; i++)
        {
            if (position + 2 > metadata.Length)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadInt16BigEndian(metadata[position..]);
            position += 2;
            if (length < 0 || position + length > metadata.Length)
            {
                return false;
            }

            topics.Add(Encoding.UTF8.GetString(metadata.Slice(position, length)));
            position += length;
        }

        return true;
    }
}
