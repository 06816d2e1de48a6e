using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Gregor.Protocol.Primitives;

/// <summary>
/// Reads Kafka's protocol primitives from a buffer, bounds-checked. A mutable struct: pass it by
/// <c>ref</c>. Records fields come back as slices of the input (produce stays zero-copy), so the
/// input must outlive the message read from it.
/// </summary>
public struct KafkaReader
{
    private readonly ReadOnlyMemory<byte> _buffer;
    private int _position;

    public KafkaReader(ReadOnlyMemory<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly ReadOnlyMemory<byte> Buffer => _buffer;

    public int Position
    {
        readonly get => _position;
        set
        {
            if ((uint)value > (uint)_buffer.Length)
            {
                throw new ProtocolException($"Position {value} is outside the buffer of {_buffer.Length} bytes.");
            }

            _position = value;
        }
    }

    public readonly int Remaining => _buffer.Length - _position;

    public readonly bool IsAtEnd => _position == _buffer.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _position))
        {
            ThrowTruncated(count);
        }

        var span = _buffer.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    private readonly void ThrowTruncated(int count) =>
        throw new ProtocolException($"Needed {count} bytes at position {_position}, but only {_buffer.Length - _position} remain.");

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public bool ReadBool() => Take(1)[0] != 0;

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    public Uuid ReadUuid() => Uuid.Read(Take(16));

    public uint ReadUnsignedVarint()
    {
        int consumed;
        uint value;
        try
        {
            consumed = Varint.TryReadUnsigned(_buffer.Span[_position..], out value);
        }
        catch (FormatException e)
        {
            throw new ProtocolException($"Invalid unsigned varint at position {_position}.", e);
        }

        if (consumed == 0)
        {
            ThrowTruncated(Remaining + 1);
        }

        _position += consumed;
        return value;
    }

    public int ReadVarint()
    {
        var raw = ReadUnsignedVarint();
        return Varint.UnZigZag(raw);
    }

    public long ReadVarlong()
    {
        int consumed;
        ulong value;
        try
        {
            consumed = Varint.TryReadUnsigned(_buffer.Span[_position..], out value);
        }
        catch (FormatException e)
        {
            throw new ProtocolException($"Invalid varlong at position {_position}.", e);
        }

        if (consumed == 0)
        {
            ThrowTruncated(Remaining + 1);
        }

        _position += consumed;
        return Varint.UnZigZag(value);
    }

    /// <summary>Reads a length prefix: int16 (classic) or unsigned varint minus one (compact); -1 is null.</summary>
    private int ReadStringLength(bool compact)
    {
        if (!compact)
        {
            return ReadInt16();
        }

        // Strings are at most 32767 bytes in both encodings, as Kafka enforces.
        var raw = ReadUnsignedVarint();
        if (raw > short.MaxValue + 1u)
        {
            throw new ProtocolException($"Compact string length {raw - 1} exceeds 32767 bytes.");
        }

        return (int)raw - 1;
    }

    private int ReadBytesLength(bool compact)
    {
        if (compact)
        {
            var raw = ReadUnsignedVarint();
            if (raw > int.MaxValue)
            {
                throw new ProtocolException($"Compact length {raw} is too large.");
            }

            return (int)raw - 1;
        }

        return ReadInt32();
    }

    // Invalid UTF-8 becomes U+FFFD, as Java's String constructor does in Kafka: a client with an
    // odd client id is served, not disconnected.
    private string DecodeString(int length) => Encoding.UTF8.GetString(Take(length));

    public string ReadString(bool compact)
    {
        var length = ReadStringLength(compact);
        if (length < 0)
        {
            throw new ProtocolException(length == -1 ? "Non-nullable string was null." : $"Negative string length {length}.");
        }

        return DecodeString(length);
    }

    public string? ReadNullableString(bool compact)
    {
        var length = ReadStringLength(compact);
        if (length == -1)
        {
            return null;
        }

        if (length < 0)
        {
            throw new ProtocolException($"Negative string length {length}.");
        }

        return DecodeString(length);
    }

    public byte[] ReadBytes(bool compact)
    {
        var length = ReadBytesLength(compact);
        if (length < 0)
        {
            throw new ProtocolException(length == -1 ? "Non-nullable bytes were null." : $"Negative bytes length {length}.");
        }

        return Take(length).ToArray();
    }

    public byte[]? ReadNullableBytes(bool compact)
    {
        var length = ReadBytesLength(compact);
        if (length == -1)
        {
            return null;
        }

        if (length < 0)
        {
            throw new ProtocolException($"Negative bytes length {length}.");
        }

        return Take(length).ToArray();
    }

    /// <summary>A records field: a slice of the input, not a copy; null for a null length.</summary>
    public ReadOnlyMemory<byte>? ReadRecords(bool compact)
    {
        var length = ReadBytesLength(compact);
        if (length == -1)
        {
            return null;
        }

        if (length < 0)
        {
            throw new ProtocolException($"Negative records length {length}.");
        }

        if (length > Remaining)
        {
            ThrowTruncated(length);
        }

        var slice = _buffer.Slice(_position, length);
        _position += length;
        return slice;
    }

    /// <summary>
    /// An array length; -1 means null. Like Kafka, a length beyond the remaining bytes is refused
    /// before anything is allocated, so a forged length cannot exhaust memory.
    /// </summary>
    public int ReadArrayLength(bool compact)
    {
        var length = ReadBytesLength(compact);
        if (length < -1)
        {
            throw new ProtocolException($"Negative array length {length}.");
        }

        if (length > Remaining)
        {
            throw new ProtocolException($"Array of {length} elements cannot fit in the {Remaining} bytes remaining.");
        }

        return length;
    }

    public byte[] ReadRawBytes(int count) => Take(count).ToArray();

    public void Skip(int count) => Take(count);

    /// <summary>Reads the data of an unknown tagged field and appends it to <paramref name="fields"/>.</summary>
    public List<RawTaggedField> ReadUnknownTaggedField(List<RawTaggedField>? fields, uint tag, int size)
    {
        if (tag > int.MaxValue)
        {
            throw new ProtocolException($"Tag {tag} is out of range.");
        }

        fields ??= new List<RawTaggedField>();
        fields.Add(new RawTaggedField((int)tag, ReadRawBytes(size)));
        return fields;
    }

    /// <summary>Reads the size of a tagged field's data and checks it fits.</summary>
    public int ReadTaggedFieldSize()
    {
        var raw = ReadUnsignedVarint();
        if (raw > (uint)Remaining)
        {
            throw new ProtocolException($"Tagged field of {raw} bytes cannot fit in the {Remaining} bytes remaining.");
        }

        return (int)raw;
    }

    /// <summary>After reading a known tagged field: refuse overruns, skip what a newer schema added.</summary>
    public void EndTaggedField(int start, int size)
    {
        var consumed = _position - start;
        if (consumed > size)
        {
            throw new ProtocolException($"Tagged field declared {size} bytes but its value used {consumed}.");
        }

        _position = start + size;
    }
}
