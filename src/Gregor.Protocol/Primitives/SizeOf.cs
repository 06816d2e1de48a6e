using System.Text;

namespace Gregor.Protocol.Primitives;

/// <summary>Exact encoded sizes of Kafka's primitives, matching <see cref="KafkaWriter"/>.</summary>
public static class SizeOf
{
    public static int UnsignedVarint(uint value) => Varint.SizeOfUnsigned(value);

    public static int String(string value, bool compact)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        return (compact ? Varint.SizeOfUnsigned((uint)length + 1) : 2) + length;
    }

    public static int NullableString(string? value, bool compact) =>
        value is null ? (compact ? 1 : 2) : String(value, compact);

    public static int Bytes(int length, bool compact) =>
        (compact ? Varint.SizeOfUnsigned((uint)length + 1) : 4) + length;

    public static int NullableBytes(byte[]? value, bool compact) =>
        value is null ? (compact ? 1 : 4) : Bytes(value.Length, compact);

    public static int Records(ReadOnlyMemory<byte>? value, bool compact) =>
        value is { } records ? Bytes(records.Length, compact) : (compact ? 1 : 4);

    /// <summary>An array length prefix; -1 is null.</summary>
    public static int ArrayLength(int count, bool compact) =>
        compact ? Varint.SizeOfUnsigned((uint)(count + 1)) : 4;

    public static int RawTaggedField(RawTaggedField field) =>
        Varint.SizeOfUnsigned((uint)field.Tag) + Varint.SizeOfUnsigned((uint)field.Data.Length) + field.Data.Length;

    /// <summary>The tag and size prefix of a tagged field whose data takes <paramref name="dataSize"/> bytes.</summary>
    public static int TaggedFieldHeader(int tag, int dataSize) =>
        Varint.SizeOfUnsigned((uint)tag) + Varint.SizeOfUnsigned((uint)dataSize);
}
