using System.Collections.Concurrent;
using System.Globalization;
using Gregor.Protocol;
using Gregor.Storage.Checkpoints;
using Microsoft.Extensions.Logging;

namespace Gregor.Storage;

/// <summary>Settings of the <see cref="LogManager"/>, Kafka's broker properties where they exist.</summary>
public sealed class LogManagerOptions
{
    /// <summary><c>log.dirs</c>.</summary>
    public required IReadOnlyList<string> LogDirs { get; init; }

    /// <summary><c>node.id</c>, checked against and written to meta.properties.</summary>
    public int NodeId { get; init; }

    /// <summary>The cluster id to use (from formatting); when null, the one in meta.properties or a new one.</summary>
    public string? ClusterId { get; init; }

    /// <summary>Broker properties (<c>server.properties</c>) that supply topic config defaults
    /// (<c>log.segment.bytes</c>, <c>log.retention.hours</c>, ...) and the intervals below.</summary>
    public IReadOnlyDictionary<string, string> BrokerProperties { get; init; } = new Dictionary<string, string>();

    /// <summary>The topic overrides of a topic at start-up (from the metadata layer); null means none.</summary>
    public Func<string, IReadOnlyDictionary<string, string>?>? TopicOverrides { get; init; }
}

/// <summary>
/// Owns every partition's <see cref="Log"/> across the log dirs (Kafka's LogManager): loads and
/// recovers them at start-up, creates and deletes them, and runs the background jobs (flush by
/// flush.ms, retention, recovery-point/log-start-offset/high-watermark checkpoints).
/// </summary>
public sealed class LogManager : IDisposable
{
    public const string CleanShutdownFileName = ".kafka_cleanshutdown";

    private readonly LogManagerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<TopicPartition, Log> _logs = new();
    private readonly Lock _createLock = new();
    private readonly long _checkpointIntervalMs;
    private readonly long _retentionCheckIntervalMs;
    private readonly long _flushCheckIntervalMs;
    private readonly long _producerIdExpirationMs;
    private readonly long _producerIdExpirationCheckIntervalMs;
    private long _lastProducerExpirationMs;
    private ITimer? _timer;
    private readonly Lock _jobLock = new();
    private long _lastCheckpointMs;
    private long _lastRetentionMs;
    private bool _started;
    private bool _shutdown;

    public LogManager(LogManagerOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.LogDirs.Count == 0)
        {
            throw new ArgumentException("At least one log dir is required.", nameof(options));
        }

        _options = options;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<LogManager>();
        _checkpointIntervalMs = BrokerLong("log.flush.offset.checkpoint.interval.ms", 60_000);
        _retentionCheckIntervalMs = BrokerLong("log.retention.check.interval.ms", 300_000);
        _flushCheckIntervalMs = Math.Min(BrokerLong("log.flush.scheduler.interval.ms", long.MaxValue), 1_000);
        _producerIdExpirationMs = BrokerLong("producer.id.expiration.ms", Log.DefaultProducerIdExpirationMs);
        _producerIdExpirationCheckIntervalMs = BrokerLong("producer.id.expiration.check.interval.ms", 600_000);
        LogDirs = options.LogDirs.Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).ToArray();
        DefaultConfig = LogConfig.Create(options.BrokerProperties, new Dictionary<string, string>());
    }

    public IReadOnlyList<string> LogDirs { get; }

    /// <summary>The cluster id from meta.properties (valid after <see cref="Startup"/>).</summary>
    public string ClusterId { get; private set; } = "";

    /// <summary>Topic config from broker properties only (no topic overrides).</summary>
    public LogConfig DefaultConfig { get; }

    public IReadOnlyDictionary<string, string> BrokerProperties => _options.BrokerProperties;

    public IEnumerable<Log> AllLogs => _logs.Values;

    /// <summary>The log cleaner (compaction), null when <c>log.cleaner.enable=false</c> or before start-up.</summary>
    public Cleaner.LogCleaner? Cleaner { get; private set; }

    /// <summary>Loads or creates meta.properties in every log dir and opens (recovering) every partition found.</summary>
    public void Startup()
    {
        if (_started)
        {
            return;
        }

        var metas = new List<(string Dir, MetaProperties? Meta)>();
        foreach (var dir in LogDirs)
        {
            Directory.CreateDirectory(dir);
            metas.Add((dir, MetaProperties.Read(dir)));
        }

        var clusterIds = metas.Where(m => m.Meta is not null).Select(m => m.Meta!.ClusterId).Distinct().ToList();
        if (clusterIds.Count > 1 || _options.ClusterId is not null && clusterIds.Count == 1 && clusterIds[0] != _options.ClusterId)
        {
            throw new InvalidOperationException($"Log dirs belong to different clusters: {string.Join(", ", clusterIds.Append(_options.ClusterId ?? ""))}.");
        }

        ClusterId = _options.ClusterId ?? (clusterIds.Count == 1 ? clusterIds[0] : Uuid.NewRandom().ToString());
        foreach (var (dir, meta) in metas)
        {
            if (meta is not null && meta.NodeId != _options.NodeId)
            {
                throw new InvalidOperationException($"{dir}: meta.properties has node.id {meta.NodeId}, but this broker is {_options.NodeId}.");
            }

            if (meta is null)
            {
                new MetaProperties(_options.NodeId, ClusterId, Uuid.NewRandom()).Write(dir);
            }
        }

        foreach (var dir in LogDirs)
        {
            LoadLogDir(dir);
        }

        // Kafka's log.cleaner.enable (default true); log.cleaner.backoff.ms between passes.
        if (!_options.BrokerProperties.TryGetValue("log.cleaner.enable", out var cleanerEnable) || !string.Equals(cleanerEnable.Trim(), "false", StringComparison.OrdinalIgnoreCase))
        {
            Cleaner = new Cleaner.LogCleaner(() => _logs.Values, LogDirs, _time, _loggerFactory.CreateLogger<Cleaner.LogCleaner>());
            Cleaner.Start(BrokerLong("log.cleaner.backoff.ms", 15_000));
        }

        var now = NowMs;
        _lastCheckpointMs = now;
        _lastRetentionMs = now;
        var tick = TimeSpan.FromMilliseconds(_flushCheckIntervalMs);
        _timer = _time.CreateTimer(_ => OnTimer(), null, tick, tick);
        _started = true;
    }

    private void LoadLogDir(string dir)
    {
        var cleanMarker = Path.Combine(dir, CleanShutdownFileName);
        var hadCleanShutdown = File.Exists(cleanMarker);
        var recoveryPoints = ReadCheckpoint(dir, OffsetCheckpointFile.RecoveryPointFileName);
        var logStartOffsets = ReadCheckpoint(dir, OffsetCheckpointFile.LogStartOffsetFileName);
        var highWatermarks = ReadCheckpoint(dir, OffsetCheckpointFile.ReplicationOffsetFileName);
        var loaded = 0;
        foreach (var partitionDir in Directory.EnumerateDirectories(dir))
        {
            var name = Path.GetFileName(partitionDir);
            if (name.EndsWith("-delete", StringComparison.Ordinal))
            {
                // A deletion the previous run did not finish.
                Directory.Delete(partitionDir, recursive: true);
                continue;
            }

            // The KRaft metadata log lives beside the partitions but is not one of them.
            if (name == "__cluster_metadata-0"
                || name.EndsWith("-future", StringComparison.Ordinal) || name.EndsWith("-stray", StringComparison.Ordinal)
                || !TopicPartition.TryParseDirectoryName(name, out var tp))
            {
                continue;
            }

            var config = ConfigFor(tp.Topic);
            var log = Log.Open(partitionDir, config, _time, _loggerFactory.CreateLogger<Log>(),
                recoveryPoint: recoveryPoints.GetValueOrDefault(tp, 0),
                logStartOffset: logStartOffsets.GetValueOrDefault(tp, 0),
                hadCleanShutdown: hadCleanShutdown);
            log.ProducerIdExpirationMs = _producerIdExpirationMs;
            log.HighWatermark = highWatermarks.GetValueOrDefault(tp, 0);
            if (!_logs.TryAdd(tp, log))
            {
                log.Close();
                throw new InvalidOperationException($"Partition {tp} exists in more than one log dir.");
            }

            loaded++;
        }

        // The marker only vouches for the shutdown that wrote it.
        File.Delete(cleanMarker);
        StorageLog.LogDirLoaded(_logger, dir, ClusterId, _options.NodeId, loaded, hadCleanShutdown);
    }

    private LogConfig ConfigFor(string topic)
    {
        var overrides = _options.TopicOverrides?.Invoke(topic);
        return overrides is null || overrides.Count == 0 ? DefaultConfig : LogConfig.Create(_options.BrokerProperties, overrides);
    }

    private Dictionary<TopicPartition, long> ReadCheckpoint(string dir, string fileName)
    {
        var path = Path.Combine(dir, fileName);
        try
        {
            return new OffsetCheckpointFile(path).Read();
        }
        catch (InvalidDataException e)
        {
            StorageLog.BadCheckpoint(_logger, path, e);
            return [];
        }
    }

    public Log? GetLog(string topic, int partition) => _logs.GetValueOrDefault(new TopicPartition(topic, partition));

    public Log? GetLog(TopicPartition topicPartition) => _logs.GetValueOrDefault(topicPartition);

    /// <summary>The partition's log, created in the log dir holding the fewest partitions when new.
    /// For an existing log (loaded at start-up) a given <paramref name="config"/> replaces its config,
    /// so topic overrides known only to the metadata layer apply after a restart.</summary>
    public Log GetOrCreateLog(string topic, int partition, Uuid topicId, LogConfig? config = null)
    {
        var tp = new TopicPartition(topic, partition);
        if (_logs.TryGetValue(tp, out var existing))
        {
            if (!topicId.IsZero && existing.TopicId != topicId)
            {
                existing.AssignTopicId(topicId);
            }

            if (config is not null && !ReferenceEquals(existing.Config, config))
            {
                existing.Config = config;
            }

            return existing;
        }

        lock (_createLock)
        {
            if (_logs.TryGetValue(tp, out existing))
            {
                return existing;
            }

            var dir = LogDirs
                .Select(d => (Dir: d, Count: _logs.Values.Count(l => l.Dir.StartsWith(d + Path.DirectorySeparatorChar, StringComparison.Ordinal))))
                .OrderBy(x => x.Count)
                .First().Dir;
            var log = Log.Open(Path.Combine(dir, tp.ToString()), config ?? ConfigFor(topic), _time, _loggerFactory.CreateLogger<Log>());
            log.ProducerIdExpirationMs = _producerIdExpirationMs;
            if (!topicId.IsZero)
            {
                log.AssignTopicId(topicId);
            }

            _logs[tp] = log;
            StorageLog.LogCreated(_logger, tp, dir);
            return log;
        }
    }

    /// <summary>Applies a topic's changed configs to all its partitions' logs (live).</summary>
    public void UpdateTopicConfig(string topic, LogConfig config)
    {
        foreach (var (tp, log) in _logs)
        {
            if (tp.Topic == topic)
            {
                log.Config = config;
            }
        }
    }

    /// <summary>Removes a partition: the directory is renamed to <c>topic-partition.&lt;uuid&gt;-delete</c>
    /// first, so a crash mid-delete never leaves a half-deleted partition that looks live.</summary>
    public bool DeleteLog(TopicPartition topicPartition)
    {
        if (!_logs.TryRemove(topicPartition, out var log))
        {
            return false;
        }

        Cleaner?.Forget(topicPartition);
        log.Close();
        var parent = Path.GetDirectoryName(log.Dir)!;
        var deleteDir = Path.Combine(parent, $"{topicPartition}.{Guid.NewGuid():N}-delete");
        log.RenameDir(deleteDir);
        log.Delete();
        StorageLog.LogDeleted(_logger, topicPartition);
        return true;
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private long BrokerLong(string name, long defaultValue) =>
        _options.BrokerProperties.TryGetValue(name, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : defaultValue;

    // A tick that finds the previous round still running is skipped rather than queued.
    private void OnTimer()
    {
        if (_jobLock.TryEnter())
        {
            try
            {
                RunJobsCore();
            }
            finally
            {
                _jobLock.Exit();
            }
        }
    }

    /// <summary>One round of background work (flush by flush.ms, retention, checkpoints); the timer
    /// calls it, tests may too (it waits for a round the timer is running).</summary>
    public void RunBackgroundJobs()
    {
        lock (_jobLock)
        {
            RunJobsCore();
        }
    }

    private void RunJobsCore()
    {
        try
        {
            if (_shutdown)
            {
                return;
            }

            foreach (var log in _logs.Values)
            {
                log.FlushIfDue();
            }

            var now = NowMs;
            if (now - _lastRetentionMs >= _retentionCheckIntervalMs)
            {
                _lastRetentionMs = now;
                foreach (var log in _logs.Values)
                {
                    log.RunMaintenance();
                }
            }

            if (now - _lastProducerExpirationMs >= _producerIdExpirationCheckIntervalMs)
            {
                _lastProducerExpirationMs = now;
                foreach (var log in _logs.Values)
                {
                    log.RemoveExpiredProducers();
                }
            }

            if (now - _lastCheckpointMs >= _checkpointIntervalMs)
            {
                _lastCheckpointMs = now;
                WriteCheckpoints();
            }
        }
        catch (Exception e)
        {
            // A timer callback that throws would take the broker down (DESIGN.md decision 10).
            StorageLog.BackgroundJobFailed(_logger, e);
        }
    }

    /// <summary>Writes recovery-point, log-start-offset and replication (high watermark) checkpoints of every log dir.</summary>
    public void WriteCheckpoints()
    {
        foreach (var dir in LogDirs)
        {
            var logs = _logs.Where(kv => Path.GetDirectoryName(kv.Value.Dir) == dir).ToList();
            new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.RecoveryPointFileName))
                .Write(logs.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.RecoveryPoint)));
            new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.LogStartOffsetFileName))
                .Write(logs.Where(kv => kv.Value.LogStartOffset > 0).Select(kv => KeyValuePair.Create(kv.Key, kv.Value.LogStartOffset)));
            new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.ReplicationOffsetFileName))
                .Write(logs.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.HighWatermark)));
        }
    }

    /// <summary>Flushes every log, writes the checkpoints, closes the logs and leaves the clean-shutdown
    /// marker so the next start-up can skip recovery.</summary>
    public void Shutdown()
    {
        if (_shutdown)
        {
            return;
        }

        _shutdown = true;
        _timer?.Dispose();
        Cleaner?.Dispose();
        lock (_jobLock)
        {
            // Waits for a running round; _shutdown stops later ones.
        }

        if (!_started)
        {
            return;
        }

        foreach (var log in _logs.Values)
        {
            log.Flush();
        }

        WriteCheckpoints();
        foreach (var log in _logs.Values)
        {
            log.Close();
        }

        foreach (var dir in LogDirs)
        {
            Checkpoints.AtomicFile.Write(Path.Combine(dir, CleanShutdownFileName), "{\"version\":0,\"brokerEpoch\":-1}");
        }
    }

    public void Dispose() => Shutdown();
}
