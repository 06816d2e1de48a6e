using System.Buffers.Binary;

namespace Gregor.Storage;

/// <summary>An aborted transaction as the <c>.txnindex</c> stores it and Fetch reports it to read_committed consumers.</summary>
public readonly record struct AbortedTxn(long ProducerId, long FirstOffset, long LastOffset, long LastStableOffset);

public sealed partial class Log
{
    // Kafka's AbortedTxn entry: version int16 (0), producer id, first offset, last offset, last stable offset.
    private const int TxnIndexEntrySize = 2 + 8 + 8 + 8 + 8;

    private readonly List<AbortedTxn> _abortedTxns = [];

    /// <summary>
    /// The first offset of the oldest open transaction, or -1 when none is open. The last stable
    /// offset is the smaller of this and the high watermark.
    /// </summary>
    public long FirstUnstableOffset
    {
        get
        {
            lock (_lock)
            {
                return _producerState.FirstUnstableOffset();
            }
        }
    }

    /// <summary>Aborted transactions overlapping [<paramref name="startOffset"/>, <paramref name="upperBoundOffset"/>), oldest first.</summary>
    public IReadOnlyList<AbortedTxn> CollectAbortedTransactions(long startOffset, long upperBoundOffset)
    {
        lock (_lock)
        {
            List<AbortedTxn>? result = null;
            foreach (var txn in _abortedTxns)
            {
                if (txn.LastOffset >= startOffset && txn.FirstOffset < upperBoundOffset)
                {
                    (result ??= []).Add(txn);
                }
            }

            return result ?? (IReadOnlyList<AbortedTxn>)[];
        }
    }

    private void OnTransactionCompleted(CompletedTxn completed, bool persist)
    {
        if (!completed.IsAborted)
        {
            return;
        }

        foreach (var existing in _abortedTxns)
        {
            if (existing.LastOffset == completed.LastOffset)
            {
                return;
            }
        }

        var firstUnstable = _producerState.FirstUnstableOffset();
        var txn = new AbortedTxn(completed.ProducerId, completed.FirstOffset, completed.LastOffset,
            firstUnstable >= 0 ? firstUnstable : completed.LastOffset + 1);
        _abortedTxns.Add(txn);
        if (persist)
        {
            var entry = new byte[TxnIndexEntrySize];
            BinaryPrimitives.WriteInt16BigEndian(entry, 0);
            BinaryPrimitives.WriteInt64BigEndian(entry.AsSpan(2), txn.ProducerId);
            BinaryPrimitives.WriteInt64BigEndian(entry.AsSpan(10), txn.FirstOffset);
            BinaryPrimitives.WriteInt64BigEndian(entry.AsSpan(18), txn.LastOffset);
            BinaryPrimitives.WriteInt64BigEndian(entry.AsSpan(26), txn.LastStableOffset);
            using var stream = new FileStream(LogSegment.FilePath(Dir, ActiveSegment.BaseOffset, LogSegment.TxnIndexFileSuffix), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            stream.Write(entry);
        }
    }

    // Start-up: the aborted transactions of every segment's .txnindex below the log end (a torn
    // trailing entry is ignored); the producer-state replay adds those whose marker it meets again.
    private void LoadAbortedTransactions()
    {
        _abortedTxns.Clear();
        var end = LogEndOffset;
        foreach (var segment in _segments)
        {
            var path = LogSegment.FilePath(Dir, segment.BaseOffset, LogSegment.TxnIndexFileSuffix);
            if (!File.Exists(path))
            {
                continue;
            }

            var data = File.ReadAllBytes(path);
            for (var position = 0; position + TxnIndexEntrySize <= data.Length; position += TxnIndexEntrySize)
            {
                var entry = data.AsSpan(position, TxnIndexEntrySize);
                var txn = new AbortedTxn(
                    BinaryPrimitives.ReadInt64BigEndian(entry[2..]),
                    BinaryPrimitives.ReadInt64BigEndian(entry[10..]),
                    BinaryPrimitives.ReadInt64BigEndian(entry[18..]),
                    BinaryPrimitives.ReadInt64BigEndian(entry[26..]));
                if (txn.LastOffset < end && txn.LastOffset >= LogStartOffset)
                {
                    _abortedTxns.Add(txn);
                }
            }
        }

        _abortedTxns.Sort((a, b) => a.LastOffset.CompareTo(b.LastOffset));
    }
}
