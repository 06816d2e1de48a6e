using System.Buffers.Binary;
using System.Globalization;
using Gregor.Protocol;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Records;

namespace Gregor.Storage;

/// <summary>One appended batch of an idempotent producer: its sequence range and offsets.</summary>
public readonly record struct ProducerBatchMetadata(int FirstSequence, int LastSequence, long FirstOffset, long LastOffset, long Timestamp);

/// <summary>A transaction ended by a marker at <paramref name="LastOffset"/>.</summary>
public readonly record struct CompletedTxn(long ProducerId, long FirstOffset, long LastOffset, bool IsAborted);

/// <summary>What a partition knows of one producer id (Kafka's ProducerStateEntry).</summary>
public sealed class ProducerStateEntry
{
    /// <summary>Kafka keeps the last five batches: a producer has at most five requests in flight per partition.</summary>
    public const int NumBatchesToRetain = 5;

    private readonly List<ProducerBatchMetadata> _batches = new(NumBatchesToRetain);

    internal ProducerStateEntry(long producerId, short producerEpoch)
    {
        ProducerId = producerId;
        ProducerEpoch = producerEpoch;
    }

    public long ProducerId { get; }

    public short ProducerEpoch { get; internal set; }

    /// <summary>Max timestamp of the producer's last batch; expiry (producer.id.expiration.ms) counts from it.</summary>
    public long LastTimestamp { get; internal set; } = -1;

    public int CoordinatorEpoch { get; internal set; } = -1;

    /// <summary>First offset of the producer's open transaction, -1 when none.</summary>
    public long CurrentTxnFirstOffset { get; internal set; } = -1;

    /// <summary>The retained batches, oldest first.</summary>
    public IReadOnlyList<ProducerBatchMetadata> Batches => _batches;

    public int LastSequence => _batches.Count == 0 ? -1 : _batches[^1].LastSequence;

    public long LastDataOffset => _batches.Count == 0 ? -1 : _batches[^1].LastOffset;

    internal void AddBatch(ProducerBatchMetadata batch)
    {
        if (_batches.Count == NumBatchesToRetain)
        {
            _batches.RemoveAt(0);
        }

        _batches.Add(batch);
    }

    internal void ClearBatches() => _batches.Clear();

    internal ProducerBatchMetadata? FindDuplicate(short epoch, int firstSequence, int lastSequence)
    {
        if (epoch != ProducerEpoch)
        {
            return null;
        }

        foreach (var batch in _batches)
        {
            if (batch.FirstSequence == firstSequence && batch.LastSequence == lastSequence)
            {
                return batch;
            }
        }

        return null;
    }
}

/// <summary>
/// Per-partition idempotent-producer state (Kafka's ProducerStateManager): the last batches of
/// every producer id, checked on each client append so a retried batch is not written twice and a
/// gap or a fenced epoch is refused. Persisted as <c>&lt;20-digit offset&gt;.snapshot</c> files in
/// Kafka's format (version 1) so start-up only replays the log after the latest snapshot.
/// Not thread-safe: the owning <see cref="Log"/> calls it under its lock.
/// </summary>
public sealed class ProducerStateManager
{
    public const string SnapshotFileSuffix = ".snapshot";
    private const short SnapshotVersion = 1;
    private const int HeaderSize = 2 + 4;
    private const int EntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

    private readonly Dictionary<long, ProducerStateEntry> _producers = [];

    internal ProducerStateManager(string dir)
    {
        Dir = dir;
    }

    internal string Dir { get; set; }

    /// <summary>The offset up to which the state reflects the log.</summary>
    public long MapEndOffset { get; internal set; }

    public int ProducerCount => _producers.Count;

    internal IReadOnlyCollection<ProducerStateEntry> Producers => _producers.Values;

    internal ProducerStateEntry? Get(long producerId) => _producers.GetValueOrDefault(producerId);

    /// <summary>
    /// Kafka's checks of a client batch: a duplicate of one of the producer's last five batches
    /// (same epoch and sequence range) is reported through <paramref name="duplicate"/>; an older
    /// epoch is INVALID_PRODUCER_EPOCH; a new epoch must restart at sequence 0 and the same epoch
    /// must continue at the next sequence (wrapping after int.MaxValue), else
    /// OUT_OF_ORDER_SEQUENCE_NUMBER. An unknown producer id is accepted at any sequence: since
    /// KIP-360 the state may have been expired or removed with the log, and the producer recovers.
    /// </summary>
    internal ErrorCode Check(ReadOnlySpan<byte> batch, out ProducerBatchMetadata? duplicate, out string? message)
    {
        duplicate = null;
        message = null;
        var producerId = RecordBatch.ProducerId(batch);
        if (producerId < 0 || !_producers.TryGetValue(producerId, out var entry))
        {
            return ErrorCode.None;
        }

        var epoch = RecordBatch.ProducerEpoch(batch);
        var firstSequence = RecordBatch.BaseSequence(batch);
        duplicate = entry.FindDuplicate(epoch, firstSequence, RecordBatch.LastSequence(batch));
        if (duplicate is not null)
        {
            return ErrorCode.None;
        }

        if (epoch < entry.ProducerEpoch)
        {
            message = $"Epoch of producer {producerId} is {epoch}, which is smaller than the last seen epoch {entry.ProducerEpoch}";
            return ErrorCode.InvalidProducerEpoch;
        }

        if (epoch != entry.ProducerEpoch)
        {
            if (firstSequence != 0)
            {
                message = $"Invalid sequence number for new epoch of producer {producerId}: {epoch} (request epoch), {firstSequence} (seq. number), {entry.ProducerEpoch} (current producer epoch)";
                return ErrorCode.OutOfOrderSequenceNumber;
            }

            return ErrorCode.None;
        }

        var lastSequence = entry.LastSequence;
        if (!InSequence(lastSequence, firstSequence))
        {
            message = $"Out of order sequence number for producer {producerId}: {firstSequence} (incoming seq. number), {lastSequence} (current end sequence number)";
            return ErrorCode.OutOfOrderSequenceNumber;
        }

        return ErrorCode.None;
    }

    private static bool InSequence(int lastSequence, int nextSequence) =>
        nextSequence == unchecked(lastSequence + 1) || (nextSequence == 0 && lastSequence == int.MaxValue);

    /// <summary>The first offset of the oldest open transaction, or -1 (the last stable offset cannot pass it).</summary>
    internal long FirstUnstableOffset()
    {
        var first = -1L;
        foreach (var entry in _producers.Values)
        {
            if (entry.CurrentTxnFirstOffset >= 0 && (first < 0 || entry.CurrentTxnFirstOffset < first))
            {
                first = entry.CurrentTxnFirstOffset;
            }
        }

        return first;
    }

    /// <summary>
    /// Records an appended batch (its base offset already assigned); every origin goes through here.
    /// Returns the transaction a commit or abort marker completed, if any.
    /// </summary>
    internal CompletedTxn? Update(ReadOnlySpan<byte> batch)
    {
        var lastOffset = RecordBatch.LastOffset(batch);
        MapEndOffset = Math.Max(MapEndOffset, lastOffset + 1);
        var producerId = RecordBatch.ProducerId(batch);
        if (producerId < 0)
        {
            return null;
        }

        var epoch = RecordBatch.ProducerEpoch(batch);
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            entry = new ProducerStateEntry(producerId, epoch);
            _producers[producerId] = entry;
        }
        else if (epoch != entry.ProducerEpoch)
        {
            // A new epoch starts a new sequence space.
            entry.ProducerEpoch = epoch;
            entry.ClearBatches();
        }

        entry.LastTimestamp = RecordBatch.MaxTimestamp(batch);
        var baseOffset = RecordBatch.BaseOffset(batch);
        if (RecordBatch.IsControl(batch))
        {
            // A commit or abort marker ends the producer's transaction.
            var reader = new RecordReader(batch);
            try
            {
                if (!reader.TryReadNext(out var record) || !ControlRecord.TryReadType(record.Key, out var type)
                    || type is not (ControlRecordType.Abort or ControlRecordType.Commit))
                {
                    return null;
                }

                if (ControlRecord.TryReadCoordinatorEpoch(record.Value, out var coordinatorEpoch))
                {
                    entry.CoordinatorEpoch = coordinatorEpoch;
                }

                var firstOffset = entry.CurrentTxnFirstOffset;
                entry.CurrentTxnFirstOffset = -1;
                return firstOffset < 0 ? null : new CompletedTxn(producerId, firstOffset, lastOffset, type == ControlRecordType.Abort);
            }
            finally
            {
                reader.Dispose();
            }
        }

        entry.AddBatch(new ProducerBatchMetadata(RecordBatch.BaseSequence(batch), RecordBatch.LastSequence(batch), baseOffset, lastOffset, entry.LastTimestamp));
        if (RecordBatch.IsTransactional(batch) && entry.CurrentTxnFirstOffset < 0)
        {
            entry.CurrentTxnFirstOffset = baseOffset;
        }

        return null;
    }

    /// <summary>Forgets producers idle for <paramref name="expirationMs"/> (producer.id.expiration.ms) with no open transaction.</summary>
    internal int RemoveExpired(long nowMs, long expirationMs)
    {
        var expired = _producers.Values
            .Where(e => e.CurrentTxnFirstOffset < 0 && nowMs - e.LastTimestamp >= expirationMs)
            .Select(e => e.ProducerId)
            .ToList();
        foreach (var id in expired)
        {
            _producers.Remove(id);
        }

        return expired.Count;
    }

    internal void Clear(long mapEndOffset)
    {
        _producers.Clear();
        MapEndOffset = mapEndOffset;
    }

    public static string SnapshotFileName(long offset) =>
        offset.ToString("D20", CultureInfo.InvariantCulture) + SnapshotFileSuffix;

    /// <summary>Snapshot offsets on disk, ascending.</summary>
    internal List<long> ListSnapshots()
    {
        var offsets = new List<long>();
        foreach (var file in Directory.EnumerateFiles(Dir, "*" + SnapshotFileSuffix))
        {
            var name = Path.GetFileName(file);
            if (name.Length == 20 + SnapshotFileSuffix.Length
                && long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                offsets.Add(offset);
            }
        }

        offsets.Sort();
        return offsets;
    }

    internal void DeleteSnapshot(long offset) => File.Delete(Path.Combine(Dir, SnapshotFileName(offset)));

    /// <summary>Writes the state as of <see cref="MapEndOffset"/> (Kafka's snapshot version 1: version,
    /// CRC-32C of the entries, then per producer its last batch).</summary>
    internal void TakeSnapshot()
    {
        var entries = _producers.Values.ToList();
        var buffer = new byte[HeaderSize + 4 + entries.Count * EntrySize];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, SnapshotVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[HeaderSize..], entries.Count);
        var position = HeaderSize + 4;
        foreach (var entry in entries)
        {
            var last = entry.Batches.Count == 0 ? (ProducerBatchMetadata?)null : entry.Batches[^1];
            var e = span.Slice(position, EntrySize);
            BinaryPrimitives.WriteInt64BigEndian(e, entry.ProducerId);
            BinaryPrimitives.WriteInt16BigEndian(e[8..], entry.ProducerEpoch);
            BinaryPrimitives.WriteInt32BigEndian(e[10..], last?.LastSequence ?? -1);
            BinaryPrimitives.WriteInt64BigEndian(e[14..], last?.LastOffset ?? -1);
            BinaryPrimitives.WriteInt32BigEndian(e[22..], last is { } b ? (int)(b.LastOffset - b.FirstOffset) : 0);
            BinaryPrimitives.WriteInt64BigEndian(e[26..], entry.LastTimestamp);
            BinaryPrimitives.WriteInt32BigEndian(e[34..], entry.CoordinatorEpoch);
            BinaryPrimitives.WriteInt64BigEndian(e[38..], entry.CurrentTxnFirstOffset);
            position += EntrySize;
        }

        BinaryPrimitives.WriteUInt32BigEndian(span[2..], Crc32C.Compute(span[HeaderSize..]));
        var path = Path.Combine(Dir, SnapshotFileName(MapEndOffset));
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(buffer);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Replaces the state with the snapshot at <paramref name="offset"/>; false (state cleared) when it is corrupt.</summary>
    internal bool TryLoadSnapshot(long offset, long nowMs, long expirationMs)
    {
        _producers.Clear();
        byte[] data;
        try
        {
            data = File.ReadAllBytes(Path.Combine(Dir, SnapshotFileName(offset)));
        }
        catch (IOException)
        {
            return false;
        }

        var span = data.AsSpan();
        if (span.Length < HeaderSize + 4
            || BinaryPrimitives.ReadInt16BigEndian(span) != SnapshotVersion
            || BinaryPrimitives.ReadUInt32BigEndian(span[2..]) != Crc32C.Compute(span[HeaderSize..]))
        {
            return false;
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(span[HeaderSize..]);
        if (count < 0 || span.Length != HeaderSize + 4 + (long)count * EntrySize)
        {
            return false;
        }

        var position = HeaderSize + 4;
        for (var i = 0; i < count; i++, position += EntrySize)
        {
            var e = span.Slice(position, EntrySize);
            var entry = new ProducerStateEntry(BinaryPrimitives.ReadInt64BigEndian(e), BinaryPrimitives.ReadInt16BigEndian(e[8..]))
            {
                LastTimestamp = BinaryPrimitives.ReadInt64BigEndian(e[26..]),
                CoordinatorEpoch = BinaryPrimitives.ReadInt32BigEndian(e[34..]),
                CurrentTxnFirstOffset = BinaryPrimitives.ReadInt64BigEndian(e[38..]),
            };
            if (entry.CurrentTxnFirstOffset < 0 && nowMs - entry.LastTimestamp >= expirationMs)
            {
                continue;
            }

            var lastSequence = BinaryPrimitives.ReadInt32BigEndian(e[10..]);
            var lastOffset = BinaryPrimitives.ReadInt64BigEndian(e[14..]);
            var offsetDelta = BinaryPrimitives.ReadInt32BigEndian(e[22..]);
            if (lastOffset >= 0 && lastSequence >= 0)
            {
                // Only the last batch survives a snapshot (as in Kafka); its first sequence may have wrapped.
                var firstSequence = lastSequence - offsetDelta;
                if (firstSequence < 0)
                {
                    firstSequence = (int)(firstSequence + (long)int.MaxValue + 1);
                }

                entry.AddBatch(new ProducerBatchMetadata(firstSequence, lastSequence, lastOffset - offsetDelta, lastOffset, entry.LastTimestamp));
            }

            _producers[entry.ProducerId] = entry;
        }

        MapEndOffset = offset;
        return true;
    }
}
