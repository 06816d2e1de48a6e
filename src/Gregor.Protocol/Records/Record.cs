using System.Text;
using Gregor.Protocol.Primitives;

namespace Gregor.Protocol.Records;

/// <summary>
/// One record of a v2 batch, as spans into the (decompressed) records section:
/// length (varint), attributes (int8, unused), timestampDelta (varlong), offsetDelta (varint),
/// key (varint length, -1 for null), value (likewise), headers (varint count, then each a
/// varint-length UTF-8 key and a varint-length nullable value).
/// </summary>
public readonly ref struct Record
{
    private readonly ReadOnlySpan<byte> _key;
    private readonly ReadOnlySpan<byte> _value;
    private readonly ReadOnlySpan<byte> _headers;

    internal Record(
        int sizeInBytes,
        sbyte attributes,
        long timestampDelta,
        int offsetDelta,
        ReadOnlySpan<byte> key,
        bool hasKey,
        ReadOnlySpan<byte> value,
        bool hasValue,
        int headerCount,
        ReadOnlySpan<byte> headers)
    {
        SizeInBytes = sizeInBytes;
        Attributes = attributes;
        TimestampDelta = timestampDelta;
        OffsetDelta = offsetDelta;
        _key = key;
        HasKey = hasKey;
        _value = value;
        HasValue = hasValue;
        HeaderCount = headerCount;
        _headers = headers;
    }

    /// <summary>Bytes this record occupies, its length varint included.</summary>
    public int SizeInBytes { get; }

    public sbyte Attributes { get; }

    public long TimestampDelta { get; }

    public int OffsetDelta { get; }

    /// <summary>False for a null key (distinct from an empty one).</summary>
    public bool HasKey { get; }

    public ReadOnlySpan<byte> Key => _key;

    /// <summary>False for a null value: a tombstone on a compacted topic.</summary>
    public bool HasValue { get; }

    public ReadOnlySpan<byte> Value => _value;

    public int HeaderCount { get; }

    public RecordHeaderEnumerator Headers => new(_headers, HeaderCount);

    public long Offset(long baseOffset) => baseOffset + OffsetDelta;

    public long Timestamp(long baseTimestamp) => baseTimestamp + TimestampDelta;

    /// <summary>
    /// Parses the record at <paramref name="position"/> without throwing; on failure returns false
    /// with a reason (Kafka's DefaultRecord.readFrom conditions: negative sizes, sizes beyond the
    /// record, a record body whose fields do not add up to its length).
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> data, scoped ref int position, out Record record, out string? error)
    {
        record = default;
        var start = position;
        try
        {
            var n = Varint.TryRead(data[position..], out int length);
            if (n == 0)
            {
                error = "Truncated record length.";
                return false;
            }

            if (length < 0 || length > data.Length - position - n)
            {
                error = $"Invalid record size {length}: {data.Length - position - n} bytes remain.";
                return false;
            }

            var body = data.Slice(position + n, length);
            var p = 0;
            if (body.Length < 1)
            {
                error = "Record body too short.";
                return false;
            }

            var attributes = (sbyte)body[p++];
            if (!ReadVarlong(body, ref p, out var timestampDelta)
                || !ReadVarint(body, ref p, out var offsetDelta)
                || !ReadBytes(body, ref p, out var key, out var hasKey)
                || !ReadBytes(body, ref p, out var value, out var hasValue)
                || !ReadVarint(body, ref p, out var headerCount))
            {
                error = "Record fields exceed the record's length.";
                return false;
            }

            if (headerCount < 0)
            {
                error = $"Found invalid number of record headers {headerCount}.";
                return false;
            }

            var headersStart = p;
            for (var i = 0; i < headerCount; i++)
            {
                if (!ReadVarint(body, ref p, out var keyLength) || keyLength < 0 || keyLength > body.Length - p)
                {
                    error = "Invalid record header key.";
                    return false;
                }

                p += keyLength;
                if (!ReadBytes(body, ref p, out _, out _))
                {
                    error = "Invalid record header value.";
                    return false;
                }
            }

            if (p != body.Length)
            {
                error = $"Invalid record size: expected to read {body.Length} bytes in record payload, but instead read {p}.";
                return false;
            }

            position = start + n + length;
            record = new Record(n + length, attributes, timestampDelta, offsetDelta, key, hasKey, value, hasValue, headerCount, body[headersStart..]);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            position = start;
            error = e.Message;
            return false;
        }
    }

    private static bool ReadVarint(ReadOnlySpan<byte> data, scoped ref int p, out int value)
    {
        var n = Varint.TryRead(data[p..], out value);
        p += n;
        return n > 0;
    }

    private static bool ReadVarlong(ReadOnlySpan<byte> data, scoped ref int p, out long value)
    {
        var n = Varint.TryRead(data[p..], out value);
        p += n;
        return n > 0;
    }

    private static bool ReadBytes(ReadOnlySpan<byte> data, scoped ref int p, out ReadOnlySpan<byte> bytes, out bool present)
    {
        bytes = default;
        present = false;
        if (!ReadVarint(data, ref p, out var length) || length < -1 || length > data.Length - p)
        {
            return false;
        }

        if (length >= 0)
        {
            present = true;
            bytes = data.Slice(p, length);
            p += length;
        }

        return true;
    }

    internal static void SkipHeader(ReadOnlySpan<byte> data, scoped ref int p, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out bool hasValue)
    {
        ReadVarint(data, ref p, out var keyLength);
        key = data.Slice(p, keyLength);
        p += keyLength;
        ReadBytes(data, ref p, out value, out hasValue);
    }
}

/// <summary>A record header: a UTF-8 key and a nullable value.</summary>
public readonly ref struct RecordHeader
{
    private readonly ReadOnlySpan<byte> _keyBytes;
    private readonly ReadOnlySpan<byte> _value;

    internal RecordHeader(ReadOnlySpan<byte> keyBytes, ReadOnlySpan<byte> value, bool hasValue)
    {
        _keyBytes = keyBytes;
        _value = value;
        HasValue = hasValue;
    }

    public ReadOnlySpan<byte> KeyBytes => _keyBytes;

    /// <summary>Allocates; compare <see cref="KeyBytes"/> on hot paths.</summary>
    public string Key => Encoding.UTF8.GetString(_keyBytes);

    public bool HasValue { get; }

    public ReadOnlySpan<byte> Value => _value;
}

/// <summary>Enumerates a record's headers (already validated when the record was parsed).</summary>
public ref struct RecordHeaderEnumerator
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _count;
    private int _index;
    private int _position;

    internal RecordHeaderEnumerator(ReadOnlySpan<byte> data, int count)
    {
        _data = data;
        _count = count;
        _index = 0;
        _position = 0;
        Current = default;
    }

    public RecordHeader Current { get; private set; }

    public readonly RecordHeaderEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_index >= _count)
        {
            return false;
        }

        Record.SkipHeader(_data, ref _position, out var key, out var value, out var hasValue);
        Current = new RecordHeader(key, value, hasValue);
        _index++;
        return true;
    }
}
