using Gregor.Protocol;
using Gregor.Storage;

namespace Gregor.Broker.Replica;

/// <summary>One partition of a fetch, resolved to a name by the handler (topic ids from Fetch v13).</summary>
public sealed class FetchPartitionRequest
{
    public required string Topic { get; init; }

    public required int Partition { get; init; }

    public required long FetchOffset { get; init; }

    public required int PartitionMaxBytes { get; init; }

    public int CurrentLeaderEpoch { get; init; } = -1;

    /// <summary>An error the handler already decided (unknown topic id, ...): the partition is not read.</summary>
    public ErrorCode PresetError { get; init; }
}

public sealed class FetchPartitionResult
{
    public ErrorCode ErrorCode { get; set; }

    public long HighWatermark { get; set; } = -1;

    public long LastStableOffset { get; set; } = -1;

    public long LogStartOffset { get; set; } = -1;

    /// <summary>Whole batches, in a pooled buffer owned by <see cref="Owner"/> until the response is written.</summary>
    public ReadOnlyMemory<byte> Records { get; set; }

    public IDisposable? Owner { get; set; }

    /// <summary>For read_committed: aborted transactions overlapping the records returned.</summary>
    public IReadOnlyList<AbortedTxn>? AbortedTransactions { get; set; }
}

public readonly record struct FetchParams(int ReplicaId, TimeSpan MaxWait, int MinBytes, int MaxBytes, sbyte IsolationLevel);

public sealed partial class ReplicaManager
{
    /// <summary>
    /// Serves a consumer fetch: reads every partition up to its high watermark (the last stable
    /// offset for read_committed, equal until transactions exist) and, when fewer than min bytes
    /// are available, parks until appends bring enough or max wait passes, then reads again.
    /// </summary>
    public async ValueTask<FetchPartitionResult[]> FetchAsync(FetchParams fetchParams, IReadOnlyList<FetchPartitionRequest> requests, CancellationToken cancellationToken)
    {
        var results = ReadAll(fetchParams, requests, out var bytesRead, out var anyError, out var highWatermarks);
        if (fetchParams.MaxWait <= TimeSpan.Zero || Volatile.Read(ref _shuttingDown) || bytesRead >= fetchParams.MinBytes || anyError || requests.Count == 0)
        {
            return results;
        }

        using var waiter = new DelayedFetch(fetchParams.MinBytes - bytesRead, IsReplicaFetch(fetchParams));
        var parked = new List<Partition>(requests.Count);
        try
        {
            foreach (var request in requests)
            {
                var partition = GetPartition(request.Topic, request.Partition);
                if (partition is not null)
                {
                    partition.AddWaiter(waiter);
                    parked.Add(partition);
                }
            }

            // An append between the first read and the registration above would otherwise go
            // unnoticed until max wait: compare high watermarks (log ends for a follower) now
            // that the waiter is in place.
            for (var i = 0; i < requests.Count; i++)
            {
                var partition = GetPartition(requests[i].Topic, requests[i].Partition);
                if (partition is null || VisibleEnd(partition, fetchParams) != highWatermarks[i])
                {
                    waiter.Complete();
                    break;
                }
            }

            waiter.Start(_timeProvider, fetchParams.MaxWait, cancellationToken);
            await waiter.Completion.ConfigureAwait(false);
        }
        finally
        {
            foreach (var partition in parked)
            {
                partition.RemoveWaiter(waiter);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        foreach (var result in results)
        {
            result.Owner?.Dispose();
        }

        return ReadAll(fetchParams, requests, out _, out _, out _);
    }

    /// <summary>A fetch from a broker replicating the partition (replica id ≥ 0) rather than a consumer.</summary>
    private bool IsReplicaFetch(FetchParams fetchParams) => fetchParams.ReplicaId >= 0 && Replication is not null;

    // Followers read up to the log end; consumers never above the high watermark (KIP-101, §4).
    private long VisibleEnd(Partition partition, FetchParams fetchParams) =>
        IsReplicaFetch(fetchParams) ? partition.LogEndOffset : partition.HighWatermark;

    private FetchPartitionResult[] ReadAll(FetchParams fetchParams, IReadOnlyList<FetchPartitionRequest> requests, out long bytesRead, out bool anyError, out long[] highWatermarks)
    {
        var results = new FetchPartitionResult[requests.Count];
        var replicaFetch = IsReplicaFetch(fetchParams);
        highWatermarks = new long[requests.Count];
        bytesRead = 0;
        anyError = false;
        long remaining = Math.Max(0, fetchParams.MaxBytes);
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            var result = results[i] = new FetchPartitionResult();
            if (request.PresetError != ErrorCode.None)
            {
                result.ErrorCode = request.PresetError;
                anyError = true;
                continue;
            }

            var partition = GetPartition(request.Topic, request.Partition);
            if (partition is null)
            {
                result.ErrorCode = NoReplicaError(request.Topic, request.Partition);
                anyError = true;
                continue;
            }

            var epochError = partition.CheckLeaderEpoch(request.CurrentLeaderEpoch);
            if (epochError != ErrorCode.None)
            {
                result.ErrorCode = epochError;
                anyError = true;
                continue;
            }

            var highWatermark = partition.HighWatermark;
            highWatermarks[i] = replicaFetch ? partition.LogEndOffset : highWatermark;
            result.HighWatermark = highWatermark;
            result.LastStableOffset = partition.LastStableOffset;
            result.LogStartOffset = partition.LogStartOffset;

            // Kafka hands the first partition with data at least one whole batch even above the
            // limits (KIP-74), so a batch larger than max bytes cannot stall a consumer forever.
            var limit = (int)Math.Min(Math.Max(0, request.PartitionMaxBytes), remaining);
            var minOneBatch = bytesRead == 0;
            var maxOffset = replicaFetch ? long.MaxValue : fetchParams.IsolationLevel == 1 ? partition.LastStableOffset : highWatermark;
            LogReadInfo read;
            try
            {
                read = partition.Log.Read(request.FetchOffset, limit, maxOffset, minOneBatch);
            }
            catch (IOException e)
            {
                // A failing disk fails this partition (KAFKA_STORAGE_ERROR), not the whole fetch.
                BrokerLog.ReadFailed(_logger, e, request.Topic, request.Partition);
                result.ErrorCode = ErrorCode.KafkaStorageError;
                anyError = true;
                continue;
            }

            if (read.Error != ErrorCode.None)
            {
                result.ErrorCode = read.Error;
                read.Dispose();
                anyError = true;
                continue;
            }

            if (replicaFetch)
            {
                // The follower's fetch offset is its log end offset (Kafka's updateFollowerFetchState);
                // it may move the high watermark and the ISR, and the follower learns the new HW now.
                UpdateFollowerFetchState(partition, fetchParams.ReplicaId, request.FetchOffset, read.LogEndOffset);
                result.HighWatermark = partition.HighWatermark;
                result.LastStableOffset = partition.LastStableOffset;
            }

            result.Records = read.Records;
            result.Owner = read;
            if (!replicaFetch && fetchParams.IsolationLevel == 1 && read.Records.Length > 0)
            {
                result.AbortedTransactions = partition.Log.CollectAbortedTransactions(request.FetchOffset, maxOffset);
            }

            bytesRead += read.Records.Length;
            remaining = Math.Max(0, remaining - read.Records.Length);
        }

        return results;
    }
}
