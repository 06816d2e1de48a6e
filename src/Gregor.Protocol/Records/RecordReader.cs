using Gregor.Protocol.Compression;

namespace Gregor.Protocol.Records;

/// <summary>
/// Iterates the records of one v2 batch. A compressed batch is decompressed once, into a buffer
/// rented from the array pool that <see cref="Dispose"/> returns; records are spans into it (or
/// into the batch itself when uncompressed), valid until Dispose.
/// <code>
/// using var reader = new RecordReader(batch);
/// foreach (var record in reader) { ... record.Offset(reader.BaseOffset) ... }
/// </code>
/// </summary>
public ref struct RecordReader
{
    private readonly ReadOnlySpan<byte> _records;
    private PooledBufferWriter? _decompressed;
    private int _position;
    private int _read;

    /// <exception cref="InvalidRecordException">The batch is too short or its records cannot be decompressed.</exception>
    public RecordReader(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < RecordBatch.HeaderSize)
        {
            throw new InvalidRecordException($"Record batch of {batch.Length} bytes is smaller than its header.", ErrorCode.CorruptMessage);
        }

        BaseOffset = RecordBatch.BaseOffset(batch);
        BaseTimestamp = RecordBatch.BaseTimestamp(batch);
        RecordCount = RecordBatch.RecordCount(batch);
        IsControl = RecordBatch.IsControl(batch);
        var end = Math.Min(batch.Length, RecordBatch.SizeInBytes(batch));
        var section = batch[RecordBatch.HeaderSize..Math.Max(end, RecordBatch.HeaderSize)];
        var compression = RecordBatch.CompressionType(batch);
        if (compression == CompressionType.None)
        {
            _records = section;
            _decompressed = null;
        }
        else
        {
            _decompressed = Decompress(compression, section);
            _records = _decompressed.WrittenSpan;
        }

        _position = 0;
        _read = 0;
    }

    public long BaseOffset { get; }

    public long BaseTimestamp { get; }

    public int RecordCount { get; }

    public bool IsControl { get; }

    /// <summary>The records section, decompressed.</summary>
    public readonly ReadOnlySpan<byte> RecordsSection => _records;

    /// <summary>The next record; false after RecordCount records.</summary>
    /// <exception cref="InvalidRecordException">A malformed record.</exception>
    public bool TryReadNext(out Record record)
    {
        if (_read >= RecordCount)
        {
            record = default;
            return false;
        }

        if (!Record.TryParse(_records, ref _position, out record, out var error))
        {
            throw new InvalidRecordException($"Record {_read} of the batch at offset {BaseOffset}: {error}");
        }

        _read++;
        return true;
    }

    public readonly Enumerator GetEnumerator() => new(_records, RecordCount, BaseOffset);

    public void Dispose()
    {
        _decompressed?.Dispose();
        _decompressed = null;
    }

    /// <summary>
    /// The most a batch's records may decompress to (256 MiB). Kafka streams records and has no such
    /// bound; we decompress whole sections, so a few hostile bytes of zstd must not be able to ask
    /// for gigabytes. No producer builds batches near this: their batch.size bounds the records.
    /// </summary>
    public const int MaxDecompressedSize = 256 * 1024 * 1024;

    internal static PooledBufferWriter Decompress(CompressionType compression, ReadOnlySpan<byte> section)
    {
        if ((byte)compression > (byte)CompressionType.Zstd)
        {
            throw new InvalidRecordException($"Unknown compression type id {(byte)compression}.");
        }

        var writer = new PooledBufferWriter(Math.Clamp(section.Length * 4, 4096, 16 * 1024 * 1024), MaxDecompressedSize);
        try
        {
            CompressionCodecs.Decompress(compression, section, writer);
            return writer;
        }
        catch (InvalidDataException e)
        {
            writer.Dispose();
            throw new InvalidRecordException($"Failed to decompress {compression} records: {e.Message}", e);
        }
    }

    /// <summary>foreach support; has no Dispose so foreach cannot release the reader's buffer early.</summary>
    public ref struct Enumerator
    {
        private readonly ReadOnlySpan<byte> _records;
        private readonly int _count;
        private readonly long _baseOffset;
        private int _position;
        private int _read;

        internal Enumerator(ReadOnlySpan<byte> records, int count, long baseOffset)
        {
            _records = records;
            _count = count;
            _baseOffset = baseOffset;
            _position = 0;
            _read = 0;
            Current = default;
        }

        public Record Current { get; private set; }

        public bool MoveNext()
        {
            if (_read >= _count)
            {
                return false;
            }

            if (!Record.TryParse(_records, ref _position, out var record, out var error))
            {
                throw new InvalidRecordException($"Record {_read} of the batch at offset {_baseOffset}: {error}");
            }

            Current = record;
            _read++;
            return true;
        }
    }
}
