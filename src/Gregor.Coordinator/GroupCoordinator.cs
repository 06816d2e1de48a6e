using Gregor.Coordinator.Groups;
using Gregor.Coordinator.Records;
using Gregor.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Coordinator;

/// <summary>
/// Kafka's group coordinator for classic and KIP-848 consumer groups, as one state machine guarded
/// by one lock. All timeouts run on the injected <see cref="TimeProvider"/>, so tests drive them
/// deterministically; all state changes are written to <c>__consumer_offsets</c> through
/// <see cref="ICoordinatorLog"/> in Kafka's own record formats and replayed on load.
/// </summary>
public sealed partial class GroupCoordinator : IGroupCoordinator, IDisposable
{
    private enum PartitionStatus
    {
        Loading,
        Active,
    }

    private readonly Lock _lock = new();
    private readonly GroupCoordinatorConfig _config;
    private readonly ICoordinatorLog _log;
    private readonly ITopicMetadataSource _topics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<int, PartitionStatus> _partitions = [];
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ITimer Timer, long Token)> _timers = new(StringComparer.Ordinal);
    private long _timerToken;
    private bool _disposed;

    public GroupCoordinator(GroupCoordinatorConfig config, ICoordinatorLog log, ITopicMetadataSource topics, TimeProvider time, ILogger<GroupCoordinator>? logger = null)
    {
        _config = config;
        _log = log;
        _topics = topics;
        _time = time;
        _logger = logger ?? NullLogger<GroupCoordinator>.Instance;
        lock (_lock)
        {
            ScheduleOffsetExpiration();
        }
    }

    public int OffsetsTopicPartitionCount => _config.OffsetsTopicNumPartitions;

    public int PartitionFor(string groupId) => GroupPartitioner.PartitionFor(groupId, _config.OffsetsTopicNumPartitions);

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public bool IsPartitionLoaded(int partition)
    {
        lock (_lock)
        {
            return _partitions.TryGetValue(partition, out var status) && status == PartitionStatus.Active;
        }
    }

    /// <summary>NOT_COORDINATOR when this coordinator does not own the group's partition, COORDINATOR_LOAD_IN_PROGRESS while it loads it.</summary>
    private ErrorCode CheckCoordinator(string groupId, out int partition)
    {
        partition = PartitionFor(groupId);
        if (!_partitions.TryGetValue(partition, out var status))
        {
            return ErrorCode.NotCoordinator;
        }

        return status == PartitionStatus.Loading ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var (timer, _) in _timers.Values)
            {
                timer.Dispose();
            }

            _timers.Clear();
        }
    }

    // ---- timers: one keyed timer per pending operation, as Kafka's timer of keyed operations ----

    private sealed record TimerState(GroupCoordinator Owner, string Key, long Token, Action Action);

    private void Schedule(string key, long delayMs, Action action)
    {
        if (_disposed)
        {
            return;
        }

        Cancel(key);
        var token = ++_timerToken;
        var state = new TimerState(this, key, token, action);
        var timer = _time.CreateTimer(static s => ((TimerState)s!).Owner.OnTimer((TimerState)s!), state, TimeSpan.FromMilliseconds(Math.Max(delayMs, 0)), Timeout.InfiniteTimeSpan);
        _timers[key] = (timer, token);
    }

    private void Cancel(string key)
    {
        if (_timers.Remove(key, out var existing))
        {
            existing.Timer.Dispose();
        }
    }

    private void OnTimer(TimerState state)
    {
        lock (_lock)
        {
            // A timer that was cancelled or replaced may still fire once; its token tells.
            if (!_timers.TryGetValue(state.Key, out var current) || current.Token != state.Token)
            {
                return;
            }

            _timers.Remove(state.Key);
            current.Timer.Dispose();
            try
            {
                state.Action();
            }
            catch (Exception e)
            {
                GroupLog.TimerFailed(_logger, e, state.Key);
            }
        }
    }

    // ---- writes to __consumer_offsets ----

    private Task Append(int partition, List<CoordinatorRecord> records)
    {
        if (records.Count == 0)
        {
            return Task.CompletedTask;
        }

        try
        {
            var task = _log.AppendAsync(partition, records).AsTask();
            if (!task.IsCompleted)
            {
                _ = task.ContinueWith(t => GroupLog.AppendFailed(_logger, t.Exception!, partition), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
            else if (task.IsFaulted)
            {
                GroupLog.AppendFailed(_logger, task.Exception!, partition);
            }

            return task;
        }
        catch (Exception e)
        {
            GroupLog.AppendFailed(_logger, e, partition);
            return Task.FromException(e);
        }
    }

    private Task Append(int partition, CoordinatorRecord record) => Append(partition, [record]);

    /// <summary>Waits for an append; a failed append turns into the error Kafka returns when its log write fails.</summary>
    private static async Task<ErrorCode> AwaitAppend(Task append)
    {
        try
        {
            await append.ConfigureAwait(false);
            return ErrorCode.None;
        }
        catch (Exception)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }
    }

    private void RemoveGroup(Group group)
    {
        _groups.Remove(group.GroupId);
        var prefix = "|" + group.GroupId + "|";
        foreach (var key in _timers.Keys.Where(k => k.Contains(prefix, StringComparison.Ordinal) || k.EndsWith("|" + group.GroupId, StringComparison.Ordinal)).ToList())
        {
            Cancel(key);
        }
    }
}

/// <summary>The group coordinator's log messages (source-generated).</summary>
internal static partial class GroupLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Group coordinator timer {Key} failed")]
    public static partial void TimerFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing to __consumer_offsets partition {Partition} failed")]
    public static partial void AppendFailed(ILogger logger, Exception exception, int partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Groups} groups from __consumer_offsets partition {Partition} ({Records} records)")]
    public static partial void PartitionLoaded(ILogger logger, int partition, int groups, int records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {GroupId} generation {Generation} ({Protocol}) with {Members} members")]
    public static partial void GenerationStarted(ILogger logger, string groupId, int generation, string? protocol, int members);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {MemberId} of group {GroupId} removed: {Reason}")]
    public static partial void MemberRemoved(ILogger logger, string memberId, string groupId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "ConsumerGroupHeartbeat of group {GroupId} member {MemberId} epoch {MemberEpoch} rejected: {Reason}")]
    public static partial void HeartbeatRejected(ILogger logger, string groupId, string memberId, int memberEpoch, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Expired {Offsets} offsets and {Groups} groups")]
    public static partial void OffsetsExpired(ILogger logger, int offsets, int groups);
}
