namespace Gregor.Storage;

public sealed partial class Log
{
    /// <summary>
    /// A follower whose log lies wholly below the leader's log start (retention moved on while it
    /// was away): every segment goes and the log restarts empty at <paramref name="newOffset"/>
    /// (Kafka's truncateFullyAndStartAt).
    /// </summary>
    public void TruncateFullyAndStartAt(long newOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newOffset);
        lock (_lock)
        {
            foreach (var segment in _segments)
            {
                segment.DeleteFiles();
            }

            _segments = [LogSegment.Open(Dir, newOffset, _config, NowMs, active: true)];
            Volatile.Write(ref _logStartOffset, newOffset);
            Volatile.Write(ref _logEndOffset, newOffset);
            Volatile.Write(ref _recoveryPoint, newOffset);
            Volatile.Write(ref _highWatermark, newOffset);
            LeaderEpochCache.Clear();
            LoadProducerState();
            StorageLog.Truncated(_logger, TopicPartition, newOffset);
        }
    }
}
