using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Gregor.Protocol.Primitives;

/// <summary>
/// Writes Kafka's protocol primitives into a span. Messages compute their exact size first
/// (<c>Size(version)</c>), so the span is normally exactly large enough; running past its end
/// throws <see cref="ProtocolException"/>.
/// </summary>
public ref struct KafkaWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public KafkaWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _buffer.Length - _position;

    /// <summary>The bytes written so far.</summary>
    public readonly Span<byte> Written => _buffer[.._position];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Take(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _position))
        {
            ThrowOverflow(count);
        }

        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }

    private readonly void ThrowOverflow(int count) =>
        throw new ProtocolException($"Writing {count} bytes at position {_position} overruns the {_buffer.Length}-byte buffer.");

    public void WriteInt8(sbyte value) => Take(1)[0] = (byte)value;

    public void WriteBool(bool value) => Take(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Take(2), value);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Take(4), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Take(8), value);

    public void WriteFloat64(double value) => BinaryPrimitives.WriteDoubleBigEndian(Take(8), value);

    public void WriteUuid(Uuid value) => value.Write(Take(16));

    public void WriteUnsignedVarint(uint value)
    {
        if (value < 0x80)
        {
            Take(1)[0] = (byte)value;
            return;
        }

        Varint.WriteUnsigned(Take(Varint.SizeOfUnsigned(value)), value);
    }

    public void WriteVarint(int value) => WriteUnsignedVarint(Varint.ZigZag(value));

    public void WriteVarlong(long value)
    {
        var zigZag = Varint.ZigZag(value);
        Varint.WriteUnsigned(Take(Varint.SizeOfUnsigned(zigZag)), zigZag);
    }

    public void WriteRawBytes(ReadOnlySpan<byte> value) => value.CopyTo(Take(value.Length));

    private void WriteStringBody(string value, bool compact)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            // Kafka limits strings to 32767 bytes in compact form too.
            throw new ProtocolException($"String of {length} bytes is longer than 32767 bytes.");
        }

        if (compact)
        {
            WriteUnsignedVarint((uint)length + 1);
        }
        else
        {
            WriteInt16((short)length);
        }

        Encoding.UTF8.GetBytes(value, Take(length));
    }

    public void WriteString(string value, bool compact) => WriteStringBody(value, compact);

    public void WriteNullableString(string? value, bool compact)
    {
        if (value is null)
        {
            WriteNullLength(compact, int16Length: true);
            return;
        }

        WriteStringBody(value, compact);
    }

    private void WriteNullLength(bool compact, bool int16Length)
    {
        if (compact)
        {
            WriteUnsignedVarint(0);
        }
        else if (int16Length)
        {
            WriteInt16(-1);
        }
        else
        {
            WriteInt32(-1);
        }
    }

    /// <summary>A bytes length prefix: int32 (classic) or unsigned varint plus one (compact).</summary>
    public void WriteBytesLength(int length, bool compact)
    {
        if (compact)
        {
            WriteUnsignedVarint((uint)length + 1);
        }
        else
        {
            WriteInt32(length);
        }
    }

    public void WriteBytes(ReadOnlySpan<byte> value, bool compact)
    {
        WriteBytesLength(value.Length, compact);
        WriteRawBytes(value);
    }

    public void WriteNullableBytes(byte[]? value, bool compact)
    {
        if (value is null)
        {
            WriteNullLength(compact, int16Length: false);
            return;
        }

        WriteBytes(value, compact);
    }

    public void WriteRecords(ReadOnlyMemory<byte>? value, bool compact)
    {
        if (value is not { } records)
        {
            WriteNullLength(compact, int16Length: false);
            return;
        }

        WriteBytes(records.Span, compact);
    }

    /// <summary>An array length; -1 writes null.</summary>
    public void WriteArrayLength(int count, bool compact)
    {
        if (count < 0)
        {
            WriteNullLength(compact, int16Length: false);
            return;
        }

        WriteBytesLength(count, compact);
    }

    /// <summary>Writes one unknown tagged field (tag, size, data).</summary>
    public void WriteRawTaggedField(RawTaggedField field)
    {
        WriteUnsignedVarint((uint)field.Tag);
        WriteUnsignedVarint((uint)field.Data.Length);
        WriteRawBytes(field.Data);
    }
}
