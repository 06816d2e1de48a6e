using System.Buffers.Binary;

namespace Gregor.Protocol;

/// <summary>
/// Kafka's 128-bit UUID (topic ids, incarnation ids): two big-endian longs on the wire, printed as
/// URL-safe base64 without padding, exactly as Kafka's <c>Uuid.toString()</c> does.
/// </summary>
public readonly record struct Uuid(long MostSignificantBits, long LeastSignificantBits)
{
    public static readonly Uuid Zero = new(0, 0);

    /// <summary>Kafka reserves the zero UUID and the "metadata topic" UUID (1) as sentinels.</summary>
    public static readonly Uuid MetadataTopicId = new(0, 1);

    public bool IsZero => MostSignificantBits == 0 && LeastSignificantBits == 0;

    public static Uuid NewRandom()
    {
        Span<byte> bytes = stackalloc byte[16];
        while (true)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
            // Version 4, IETF variant, as java.util.UUID.randomUUID.
            bytes[6] = (byte)((bytes[6] & 0x0f) | 0x40);
            bytes[8] = (byte)((bytes[8] & 0x3f) | 0x80);
            var id = Read(bytes);
            // Kafka never hands out ids whose base64 form starts with '-' (awkward on command lines)
            // or the reserved sentinels.
            if (!id.IsZero && id != MetadataTopicId && !id.ToString().StartsWith('-'))
            {
                return id;
            }
        }
    }

    public static Uuid Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt64BigEndian(source), BinaryPrimitives.ReadInt64BigEndian(source[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, MostSignificantBits);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], LeastSignificantBits);
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        Write(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static Uuid Parse(string text)
    {
        var b64 = text.Replace('-', '+').Replace('_', '/');
        b64 += (b64.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        var bytes = Convert.FromBase64String(b64);
        if (bytes.Length != 16)
        {
            throw new FormatException($"'{text}' is not a Kafka UUID.");
        }

        return Read(bytes);
    }
}
