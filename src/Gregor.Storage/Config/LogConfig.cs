using System.Collections.Frozen;
using System.Globalization;

namespace Gregor.Storage;

/// <summary>Where a topic config's effective value came from, as DescribeConfigs reports it.</summary>
public enum ConfigSource
{
    /// <summary>A topic-level override (DYNAMIC_TOPIC_CONFIG).</summary>
    Topic,

    /// <summary>The broker's property that supplies the topic default (STATIC_BROKER_CONFIG).</summary>
    Broker,

    /// <summary>Kafka's built-in default (DEFAULT_CONFIG).</summary>
    Default,
}

public enum ConfigType
{
    Boolean,
    Int,
    Long,
    Double,
    String,
    List,
}

/// <summary>One topic-level config: its Kafka name, type, default and the broker properties
/// (first wins) that supply the default for topics without an override.</summary>
public sealed record TopicConfigDef(
    string Name,
    ConfigType Type,
    string Default,
    IReadOnlyList<BrokerSynonym> BrokerSynonyms,
    Func<string, string?>? Validator = null);

/// <summary>A broker property and how its value converts to the topic config's unit
/// (<c>log.retention.hours</c> → ms).</summary>
public sealed record BrokerSynonym(string Name, long Multiplier = 1);

/// <summary>One resolved value with its source.</summary>
public sealed record ConfigEntry(string Name, string Value, ConfigSource Source, ConfigType Type);

/// <summary>Thrown for an invalid topic config value (INVALID_CONFIG on the wire).</summary>
public sealed class InvalidConfigException(string message) : Exception(message);

/// <summary>
/// Topic-level configs with Kafka 4.0's names and defaults. Resolution is topic override, then the
/// broker property (Kafka's "synonyms", e.g. log.retention.ms / minutes / hours), then the default.
/// </summary>
public sealed partial class LogConfig
{
    public const string CleanupPolicyConfig = "cleanup.policy";
    public const string CompressionTypeConfig = "compression.type";
    public const string FlushMessagesConfig = "flush.messages";
    public const string FlushMsConfig = "flush.ms";
    public const string IndexIntervalBytesConfig = "index.interval.bytes";
    public const string MaxMessageBytesConfig = "max.message.bytes";
    public const string MessageTimestampTypeConfig = "message.timestamp.type";
    public const string MessageTimestampBeforeMaxMsConfig = "message.timestamp.before.max.ms";
    public const string MessageTimestampAfterMaxMsConfig = "message.timestamp.after.max.ms";
    public const string MinInSyncReplicasConfig = "min.insync.replicas";
    public const string RetentionBytesConfig = "retention.bytes";
    public const string RetentionMsConfig = "retention.ms";
    public const string SegmentBytesConfig = "segment.bytes";
    public const string SegmentIndexBytesConfig = "segment.index.bytes";
    public const string SegmentJitterMsConfig = "segment.jitter.ms";
    public const string SegmentMsConfig = "segment.ms";
    public const string FileDeleteDelayMsConfig = "file.delete.delay.ms";
    public const string PreallocateConfig = "preallocate";
    public const string UncleanLeaderElectionEnableConfig = "unclean.leader.election.enable";

    private const long Hour = 60L * 60 * 1000;
    private const long Minute = 60L * 1000;

    private static BrokerSynonym[] B(params string[] names) => names.Select(n => new BrokerSynonym(n)).ToArray();

    /// <summary>Every topic config of Kafka 4.0 (message.format.version, message.downconversion.enable
    /// and message.timestamp.difference.max.ms were removed in 4.0).</summary>
    public static readonly IReadOnlyList<TopicConfigDef> Definitions =
    [
        new(CleanupPolicyConfig, ConfigType.List, "delete", B("log.cleanup.policy"), ValidCleanupPolicy),
        new(CompressionTypeConfig, ConfigType.String, "producer", B("compression.type"),
            v => OneOf(v, "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
        new("compression.gzip.level", ConfigType.Int, "-1", B("compression.gzip.level"),
            v => v == "-1" ? null : IntRange(v, 1, 9)),
        new("compression.lz4.level", ConfigType.Int, "9", B("compression.lz4.level"), v => IntRange(v, 1, 17)),
        new("compression.zstd.level", ConfigType.Int, "3", B("compression.zstd.level"), v => IntRange(v, -131072, 22)),
        new("delete.retention.ms", ConfigType.Long, "86400000", B("log.cleaner.delete.retention.ms"), v => LongAtLeast(v, 0)),
        new(FileDeleteDelayMsConfig, ConfigType.Long, "60000", B("log.segment.delete.delay.ms"), v => LongAtLeast(v, 0)),
        new(FlushMessagesConfig, ConfigType.Long, long.MaxValue.ToString(CultureInfo.InvariantCulture), B("log.flush.interval.messages"), v => LongAtLeast(v, 1)),
        new(FlushMsConfig, ConfigType.Long, long.MaxValue.ToString(CultureInfo.InvariantCulture), B("log.flush.interval.ms"), v => LongAtLeast(v, 0)),
        new("follower.replication.throttled.replicas", ConfigType.List, "", [], null),
        new(IndexIntervalBytesConfig, ConfigType.Int, "4096", B("log.index.interval.bytes"), v => IntRange(v, 0, int.MaxValue)),
        new("leader.replication.throttled.replicas", ConfigType.List, "", [], null),
        new("local.retention.bytes", ConfigType.Long, "-2", B("log.local.retention.bytes"), v => LongAtLeast(v, -2)),
        new("local.retention.ms", ConfigType.Long, "-2", B("log.local.retention.ms"), v => LongAtLeast(v, -2)),
        new("max.compaction.lag.ms", ConfigType.Long, long.MaxValue.ToString(CultureInfo.InvariantCulture), B("log.cleaner.max.compaction.lag.ms"), v => LongAtLeast(v, 1)),
        new(MaxMessageBytesConfig, ConfigType.Int, "1048588", B("message.max.bytes"), v => IntRange(v, 0, int.MaxValue)),
        // KIP-1030 (Kafka 4.0) lowered the future-timestamp bound from Long.MAX to one hour.
        new(MessageTimestampAfterMaxMsConfig, ConfigType.Long, "3600000", B("log.message.timestamp.after.max.ms"), v => LongAtLeast(v, 0)),
        new(MessageTimestampBeforeMaxMsConfig, ConfigType.Long, long.MaxValue.ToString(CultureInfo.InvariantCulture), B("log.message.timestamp.before.max.ms"), v => LongAtLeast(v, 0)),
        new(MessageTimestampTypeConfig, ConfigType.String, "CreateTime", B("log.message.timestamp.type"), v => OneOf(v, "CreateTime", "LogAppendTime")),
        new("min.cleanable.dirty.ratio", ConfigType.Double, "0.5", B("log.cleaner.min.cleanable.ratio"), v => DoubleRange(v, 0, 1)),
        new("min.compaction.lag.ms", ConfigType.Long, "0", B("log.cleaner.min.compaction.lag.ms"), v => LongAtLeast(v, 0)),
        new(MinInSyncReplicasConfig, ConfigType.Int, "1", B("min.insync.replicas"), v => IntRange(v, 1, int.MaxValue)),
        new(PreallocateConfig, ConfigType.Boolean, "false", B("log.preallocate"), IsBool),
        new("remote.log.copy.disable", ConfigType.Boolean, "false", [], IsBool),
        new("remote.log.delete.on.disable", ConfigType.Boolean, "false", [], IsBool),
        new("remote.storage.enable", ConfigType.Boolean, "false", [], IsBool),
        new(RetentionBytesConfig, ConfigType.Long, "-1", B("log.retention.bytes"), v => LongAtLeast(v, long.MinValue)),
        new(RetentionMsConfig, ConfigType.Long, "604800000",
            [new("log.retention.ms"), new("log.retention.minutes", Minute), new("log.retention.hours", Hour)], v => LongAtLeast(v, -1)),
        // Kafka validates at least 14 bytes (a v0 record's overhead); tests rely on tiny segments.
        new(SegmentBytesConfig, ConfigType.Int, "1073741824", B("log.segment.bytes"), v => IntRange(v, 14, int.MaxValue)),
        new(SegmentIndexBytesConfig, ConfigType.Int, "10485760", B("log.index.size.max.bytes"), v => IntRange(v, 4, int.MaxValue)),
        new(SegmentJitterMsConfig, ConfigType.Long, "0", [new("log.roll.jitter.ms"), new("log.roll.jitter.hours", Hour)], v => LongAtLeast(v, 0)),
        new(SegmentMsConfig, ConfigType.Long, "604800000", [new("log.roll.ms"), new("log.roll.hours", Hour)], v => LongAtLeast(v, 1)),
        new(UncleanLeaderElectionEnableConfig, ConfigType.Boolean, "false", B("unclean.leader.election.enable"), IsBool),
    ];

    public static readonly FrozenDictionary<string, TopicConfigDef> DefinitionsByName =
        Definitions.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    private readonly FrozenDictionary<string, ConfigEntry> _entries;

    private LogConfig(FrozenDictionary<string, ConfigEntry> entries)
    {
        _entries = entries;
        SegmentBytes = GetInt(SegmentBytesConfig);
        SegmentMs = GetLong(SegmentMsConfig);
        SegmentJitterMs = GetLong(SegmentJitterMsConfig);
        SegmentIndexBytes = GetInt(SegmentIndexBytesConfig);
        IndexIntervalBytes = GetInt(IndexIntervalBytesConfig);
        FlushMessages = GetLong(FlushMessagesConfig);
        FlushMs = GetLong(FlushMsConfig);
        RetentionMs = GetLong(RetentionMsConfig);
        RetentionBytes = GetLong(RetentionBytesConfig);
        MaxMessageBytes = GetInt(MaxMessageBytesConfig);
        MessageTimestampLogAppendTime = Get(MessageTimestampTypeConfig) == "LogAppendTime";
        MinInSyncReplicas = GetInt(MinInSyncReplicasConfig);
        CompressionType = Get(CompressionTypeConfig);
        var policy = Get(CleanupPolicyConfig);
        Compact = policy.Split(',', StringSplitOptions.TrimEntries).Contains("compact");
        Delete = policy.Split(',', StringSplitOptions.TrimEntries).Contains("delete");
        FileDeleteDelayMs = GetLong(FileDeleteDelayMsConfig);
        Preallocate = bool.Parse(Get(PreallocateConfig));
    }

    /// <summary>All defaults, no broker properties.</summary>
    public static LogConfig Default { get; } = Create(
        FrozenDictionary<string, string>.Empty, FrozenDictionary<string, string>.Empty);

    public int SegmentBytes { get; }
    public long SegmentMs { get; }
    public long SegmentJitterMs { get; }
    public int SegmentIndexBytes { get; }
    public int IndexIntervalBytes { get; }
    public long FlushMessages { get; }
    public long FlushMs { get; }
    public long RetentionMs { get; }
    public long RetentionBytes { get; }
    public int MaxMessageBytes { get; }
    public bool MessageTimestampLogAppendTime { get; }
    public int MinInSyncReplicas { get; }
    public string CompressionType { get; }
    public bool Compact { get; }
    public bool Delete { get; }
    public long FileDeleteDelayMs { get; }
    public bool Preallocate { get; }

    /// <summary>Every topic config, effective value and source, in name order.</summary>
    public IEnumerable<ConfigEntry> Entries => Definitions.Select(d => _entries[d.Name]);

    /// <summary>Only the topic-level overrides (what Kafka stores per topic).</summary>
    public IReadOnlyDictionary<string, string> Overrides =>
        _entries.Values.Where(e => e.Source == ConfigSource.Topic).ToDictionary(e => e.Name, e => e.Value);

    public ConfigEntry GetEntry(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"Unknown topic config '{name}'.");

    public string Get(string name) => GetEntry(name).Value;

    public int GetInt(string name) => int.Parse(Get(name), CultureInfo.InvariantCulture);

    public long GetLong(string name) => long.Parse(Get(name), CultureInfo.InvariantCulture);

    public double GetDouble(string name) => double.Parse(Get(name), CultureInfo.InvariantCulture);

    /// <summary>Resolves topic override &gt; broker property &gt; default and validates each value.
    /// Throws <see cref="InvalidConfigException"/> for an unknown topic config or a bad value.</summary>
    public static LogConfig Create(IReadOnlyDictionary<string, string> brokerProps, IReadOnlyDictionary<string, string> topicOverrides)
    {
        ArgumentNullException.ThrowIfNull(brokerProps);
        ArgumentNullException.ThrowIfNull(topicOverrides);
        foreach (var name in topicOverrides.Keys)
        {
            if (!DefinitionsByName.ContainsKey(name))
            {
                throw new InvalidConfigException($"Unknown topic config name: {name}");
            }
        }

        var entries = new Dictionary<string, ConfigEntry>(StringComparer.Ordinal);
        foreach (var def in Definitions)
        {
            ConfigEntry entry;
            if (topicOverrides.TryGetValue(def.Name, out var topicValue))
            {
                entry = new ConfigEntry(def.Name, Normalize(def, topicValue.Trim()), ConfigSource.Topic, def.Type);
            }
            else if (TryBroker(def, brokerProps, out var brokerValue))
            {
                entry = new ConfigEntry(def.Name, brokerValue, ConfigSource.Broker, def.Type);
            }
            else
            {
                entry = new ConfigEntry(def.Name, def.Default, ConfigSource.Default, def.Type);
            }

            var error = Check(def, entry.Value);
            if (error is not null)
            {
                throw new InvalidConfigException($"Invalid value {entry.Value} for configuration {def.Name}: {error}");
            }

            entries[def.Name] = entry;
        }

        return new LogConfig(entries.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Validates one topic config value; null when valid, else the reason (for INVALID_CONFIG).</summary>
    public static string? Validate(string name, string value)
    {
        if (!DefinitionsByName.TryGetValue(name, out var def))
        {
            return $"Unknown topic config name: {name}";
        }

        return Check(def, Normalize(def, value.Trim()));
    }

    /// <summary>A copy with some overrides changed (live config updates).</summary>
    public LogConfig WithOverrides(IReadOnlyDictionary<string, string> brokerProps, IReadOnlyDictionary<string, string> changes)
    {
        var merged = new Dictionary<string, string>(Overrides, StringComparer.Ordinal);
        foreach (var (k, v) in changes)
        {
            merged[k] = v;
        }

        return Create(brokerProps, merged);
    }

    private static string Normalize(TopicConfigDef def, string value) =>
        def.Type == ConfigType.Boolean ? value.ToLowerInvariant() : value;

    private static bool TryBroker(TopicConfigDef def, IReadOnlyDictionary<string, string> brokerProps, out string value)
    {
        foreach (var synonym in def.BrokerSynonyms)
        {
            if (brokerProps.TryGetValue(synonym.Name, out var raw))
            {
                raw = raw.Trim();
                if (synonym.Multiplier != 1 && long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                {
                    // log.retention.hours=-1 means unlimited, like log.retention.ms=-1.
                    value = n < 0 ? n.ToString(CultureInfo.InvariantCulture) : checked(n * synonym.Multiplier).ToString(CultureInfo.InvariantCulture);
                }
                else
                {
                    value = Normalize(def, raw);
                }

                return true;
            }
        }

        value = "";
        return false;
    }

    private static string? Check(TopicConfigDef def, string value)
    {
        var typeError = def.Type switch
        {
            ConfigType.Int => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : "Expected an int.",
            ConfigType.Long => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : "Expected a long.",
            ConfigType.Double => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : "Expected a double.",
            ConfigType.Boolean => IsBool(value),
            _ => null,
        };
        return typeError ?? def.Validator?.Invoke(value);
    }

    private static string? IsBool(string v) => v is "true" or "false" ? null : "Expected true or false.";

    private static string? OneOf(string v, params string[] allowed) =>
        allowed.Contains(v, StringComparer.Ordinal) ? null : $"String must be one of: {string.Join(", ", allowed)}";

    private static string? IntRange(string v, int min, int max) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? null
            : $"Value must be in [{min}, {max}].";

    private static string? LongAtLeast(string v, long min) =>
        long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min ? null : $"Value must be at least {min}.";

    private static string? DoubleRange(string v, double min, double max) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min && d <= max
            ? null
            : $"Value must be in [{min}, {max}].";

    private static string? ValidCleanupPolicy(string v)
    {
        var parts = v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return parts.All(p => p is "compact" or "delete") ? null : "Each policy must be one of: compact, delete.";
    }
}
