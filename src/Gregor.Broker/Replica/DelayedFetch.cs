namespace Gregor.Broker.Replica;

/// <summary>
/// A fetch parked until enough bytes arrive (min bytes) or max wait passes: Kafka's DelayedFetch.
/// Partitions hold it in their waiter list and report every append; the waiter completes once the
/// appended bytes reach the missing amount, when the timer fires, or when a partition changes
/// under it (deleted, leadership moved), after which the fetch is read again in full.
/// </summary>
internal sealed class DelayedFetch : IDisposable
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _bytesNeeded;
    private long _bytesAppended;
    private ITimer? _timer;
    private CancellationTokenRegistration _cancellation;

    public DelayedFetch(long bytesNeeded, bool isReplicaFetch = false)
    {
        _bytesNeeded = bytesNeeded;
        IsReplicaFetch = isReplicaFetch;
    }

    /// <summary>A follower's fetch: woken by leader appends (it reads up to the log end), not by the high watermark.</summary>
    public bool IsReplicaFetch { get; }

    public Task Completion => _completion.Task;

    public bool IsCompleted => _completion.Task.IsCompleted;

    public void Start(TimeProvider timeProvider, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        _timer = timeProvider.CreateTimer(static state => ((DelayedFetch)state!).Complete(), this, maxWait, Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.Register(static state => ((DelayedFetch)state!).Complete(), this);
        }
    }

    /// <summary>Called by a partition after an append became visible to consumers.</summary>
    public void OnBytesAppended(long bytes)
    {
        if (Interlocked.Add(ref _bytesAppended, bytes) >= _bytesNeeded)
        {
            Complete();
        }
    }

    public void Complete() => _completion.TrySetResult();

    public void Dispose()
    {
        _timer?.Dispose();
        _cancellation.Dispose();
        Complete();
    }
}
