namespace Gregor.Protocol.Primitives;

/// <summary>
/// Kafka's variable-length integers: unsigned varints (7 bits a byte, low groups first) as used by
/// compact lengths and tagged fields, and zig-zag signed varints/varlongs as used inside records.
/// </summary>
public static class Varint
{
    public const int MaxVarintBytes = 5;
    public const int MaxVarlongBytes = 10;

    public static int SizeOfUnsigned(uint value)
    {
        // Each byte carries 7 bits; (bits used + 6) / 7, with zero taking one byte.
        var bits = 32 - System.Numerics.BitOperations.LeadingZeroCount(value | 1);
        return (bits + 6) / 7;
    }

    public static int SizeOfUnsigned(ulong value)
    {
        var bits = 64 - System.Numerics.BitOperations.LeadingZeroCount(value | 1);
        return (bits + 6) / 7;
    }

    public static int SizeOf(int value) => SizeOfUnsigned(ZigZag(value));

    public static int SizeOf(long value) => SizeOfUnsigned(ZigZag(value));

    public static uint ZigZag(int value) => (uint)((value << 1) ^ (value >> 31));

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    public static int UnZigZag(uint value) => (int)(value >> 1) ^ -(int)(value & 1);

    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    public static int WriteUnsigned(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteUnsigned(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int Write(Span<byte> destination, int value) => WriteUnsigned(destination, ZigZag(value));

    public static int Write(Span<byte> destination, long value) => WriteUnsigned(destination, ZigZag(value));

    /// <summary>Reads an unsigned varint; returns bytes consumed, or 0 if the input ends first.</summary>
    /// <exception cref="FormatException">More than five bytes: not a valid 32-bit varint.</exception>
    public static int TryReadUnsigned(ReadOnlySpan<byte> source, out uint value)
    {
        uint result = 0;
        for (var i = 0; i < MaxVarintBytes; i++)
        {
            if (i >= source.Length)
            {
                value = 0;
                return 0;
            }

            uint b = source[i];
            result |= (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0)
            {
                value = result;
                return i + 1;
            }
        }

        throw new FormatException("Varint is longer than 5 bytes.");
    }

    /// <summary>Reads an unsigned varlong; returns bytes consumed, or 0 if the input ends first.</summary>
    /// <exception cref="FormatException">More than ten bytes: not a valid 64-bit varint.</exception>
    public static int TryReadUnsigned(ReadOnlySpan<byte> source, out ulong value)
    {
        ulong result = 0;
        for (var i = 0; i < MaxVarlongBytes; i++)
        {
            if (i >= source.Length)
            {
                value = 0;
                return 0;
            }

            ulong b = source[i];
            result |= (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0)
            {
                value = result;
                return i + 1;
            }
        }

        throw new FormatException("Varlong is longer than 10 bytes.");
    }

    public static int TryRead(ReadOnlySpan<byte> source, out int value)
    {
        var n = TryReadUnsigned(source, out uint raw);
        value = UnZigZag(raw);
        return n;
    }

    public static int TryRead(ReadOnlySpan<byte> source, out long value)
    {
        var n = TryReadUnsigned(source, out ulong raw);
        value = UnZigZag(raw);
        return n;
    }
}
