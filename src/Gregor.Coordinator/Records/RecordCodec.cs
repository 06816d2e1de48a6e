using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gregor.Protocol;
using Gregor.Protocol.Primitives;

namespace Gregor.Coordinator.Records;

/// <summary>Writes the primitive types of Kafka's record schemas, in classic or flexible (compact) encoding.</summary>
internal sealed class RecordWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64);

    public RecordWriter(bool flexible) => Flexible = flexible;

    public bool Flexible { get; }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void WriteInt8(sbyte value)
    {
        _buffer.GetSpan(1)[0] = (byte)value;
        _buffer.Advance(1);
    }

    public void Int16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
    }

    public void Int32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void Int64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void Uuid(Uuid value)
    {
        value.Write(_buffer.GetSpan(16));
        _buffer.Advance(16);
    }

    public void UnsignedVarint(uint value) => _buffer.Advance(Varint.WriteUnsigned(_buffer.GetSpan(Varint.MaxVarintBytes), value));

    /// <summary>An array length: int32 (-1 for null) or compact uvarint (0 for null).</summary>
    public void ArrayLength(int? count)
    {
        if (Flexible)
        {
            UnsignedVarint(count is null ? 0u : (uint)count.Value + 1);
        }
        else
        {
            Int32(count ?? -1);
        }
    }

    public void String(string? value)
    {
        if (value is null)
        {
            if (Flexible)
            {
                UnsignedVarint(0);
            }
            else
            {
                Int16(-1);
            }

            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        if (Flexible)
        {
            UnsignedVarint((uint)length + 1);
        }
        else
        {
            Int16(checked((short)length));
        }

        _buffer.Advance(Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length)));
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        if (Flexible)
        {
            UnsignedVarint((uint)value.Length + 1);
        }
        else
        {
            Int32(value.Length);
        }

        value.CopyTo(_buffer.GetSpan(value.Length));
        _buffer.Advance(value.Length);
    }

    public void Int32Array(IReadOnlyCollection<int> values)
    {
        ArrayLength(values.Count);
        foreach (var v in values)
        {
            Int32(v);
        }
    }

    public void StringArray(IReadOnlyCollection<string> values)
    {
        ArrayLength(values.Count);
        foreach (var v in values)
        {
            String(v);
        }
    }

    /// <summary>An empty tagged-field section; only flexible versions have one.</summary>
    public void NoTaggedFields()
    {
        if (Flexible)
        {
            UnsignedVarint(0);
        }
    }
}

/// <summary>Reads the primitive types of Kafka's record schemas; throws <see cref="FormatException"/> on truncated input.</summary>
internal ref struct RecordReader
{
    private ReadOnlySpan<byte> _remaining;

    public RecordReader(ReadOnlySpan<byte> source, bool flexible)
    {
        _remaining = source;
        Flexible = flexible;
    }

    public bool Flexible { get; set; }

    public readonly int Remaining => _remaining.Length;

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _remaining.Length)
        {
            throw new FormatException("Truncated coordinator record.");
        }

        var slice = _remaining[..count];
        _remaining = _remaining[count..];
        return slice;
    }

    public sbyte Int8() => (sbyte)Take(1)[0];

    public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public Uuid Uuid() => Gregor.Protocol.Uuid.Read(Take(16));

    public uint UnsignedVarint()
    {
        var read = Varint.TryReadUnsigned(_remaining, out uint value);
        if (read <= 0)
        {
            throw new FormatException("Bad varint in coordinator record.");
        }

        _remaining = _remaining[read..];
        return value;
    }

    public int ArrayLength()
    {
        if (Flexible)
        {
            return (int)UnsignedVarint() - 1;
        }

        return Int32();
    }

    public string? NullableString()
    {
        int length = Flexible ? (int)UnsignedVarint() - 1 : Int16();
        return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
    }

    public string String() => NullableString() ?? string.Empty;

    public byte[] Bytes()
    {
        int length = Flexible ? (int)UnsignedVarint() - 1 : Int32();
        return length < 0 ? [] : Take(length).ToArray();
    }

    public List<int> Int32Array()
    {
        var count = ArrayLength();
        var list = new List<int>(Math.Max(count, 0));
        for (var i = 0; i < count; i++)
        {
            list.Add(Int32());
        }

        return list;
    }

    public List<string> StringArray()
    {
        var count = ArrayLength();
        var list = new List<string>(Math.Max(count, 0));
        for (var i = 0; i < count; i++)
        {
            list.Add(String());
        }

        return list;
    }

    /// <summary>Skips a tagged-field section (unknown tags are ignored, as Kafka's readers do).</summary>
    public void SkipTaggedFields()
    {
        if (!Flexible)
        {
            return;
        }

        var count = UnsignedVarint();
        for (var i = 0; i < count; i++)
        {
            UnsignedVarint();
            var size = (int)UnsignedVarint();
            Take(size);
        }
    }

    /// <summary>Reads a tagged-field section, handing each (tag, bytes) to the caller.</summary>
    public List<(uint Tag, byte[] Data)> TaggedFields()
    {
        var result = new List<(uint, byte[])>();
        if (!Flexible)
        {
            return result;
        }

        var count = UnsignedVarint();
        for (var i = 0; i < count; i++)
        {
            var tag = UnsignedVarint();
            var size = (int)UnsignedVarint();
            result.Add((tag, Take(size).ToArray()));
        }

        return result;
    }
}
