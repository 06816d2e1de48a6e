using System.Collections.Frozen;
using System.Globalization;

namespace Gregor.Broker.Config;

/// <summary>
/// The broker config keys Gregor knows, with Kafka 4.0's names, types and defaults. This table is
/// the source of DescribeConfigs for BROKER resources and of <see cref="BrokerConfig"/>'s validation.
/// Gregor's own defaults, where they differ from Kafka's, are marked.
/// </summary>
public static class BrokerConfigDefinitions
{
    private const string IntMax = "2147483647";
    private const string LongMax = "9223372036854775807";
    private const long Hour = 3_600_000;
    private const long Minute = 60_000;

    public static IReadOnlyList<BrokerConfigDefinition> All { get; } =
    [
        // KRaft and identity. Gregor starts as a single combined node with no configuration
        // (Kafka requires node.id and process.roles); node.id=1 as in Kafka's quickstart.
        Int("node.id", "1", min: 0),
        Int("broker.id", null, min: -1),
        List("process.roles", "broker,controller", valid: ["broker", "controller"]),
        List("controller.quorum.voters", ""),
        List("controller.quorum.bootstrap.servers", ""),
        Int("controller.quorum.election.timeout.ms", "1000", min: 1),
        Int("controller.quorum.election.backoff.max.ms", "1000", min: 1),
        Int("controller.quorum.fetch.timeout.ms", "2000", min: 1),
        Int("controller.quorum.request.timeout.ms", "2000", min: 1),
        Int("controller.quorum.retry.backoff.ms", "20", min: 0),
        List("controller.listener.names", null),
        Int("broker.session.timeout.ms", "9000", min: 1),
        Int("broker.heartbeat.interval.ms", "2000", min: 1),
        String("metadata.log.dir", null),
        Int("metadata.log.segment.bytes", "1073741824", min: 8),
        Long("metadata.max.retention.bytes", "104857600"),
        Long("metadata.max.retention.ms", "604800000"),
        Long("metadata.log.max.record.bytes.between.snapshots", "20971520", min: 1),
        Boolean("controlled.shutdown.enable", "true"),

        // Listeners. Gregor listens on localhost by default (Kafka: all interfaces) so a
        // zero-config start is not reachable from the network.
        String("listeners", "PLAINTEXT://localhost:9092"),
        String("advertised.listeners", null),
        String("listener.security.protocol.map", "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
        String("inter.broker.listener.name", null),
        String("security.inter.broker.protocol", "PLAINTEXT", valid: ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
        Int("socket.request.max.bytes", "104857600", min: 1),
        Int("socket.send.buffer.bytes", "102400", min: -1),
        Int("socket.receive.buffer.bytes", "102400", min: -1),
        Int("socket.listen.backlog.size", "50", min: 1),
        Long("connections.max.idle.ms", "600000", min: 1),
        Int("max.connections", IntMax, min: 0),
        Int("max.connections.per.ip", IntMax, min: 0),
        Int("num.network.threads", "3", min: 1),
        Int("num.io.threads", "8", min: 1),
        Int("queued.max.requests", "500", min: 1),
        Long("queued.max.request.bytes", "-1"),
        Int("request.timeout.ms", "30000", min: 0),
        Password("ssl.keystore.password"),
        Password("ssl.key.password"),
        Password("ssl.truststore.password"),
        Password("sasl.jaas.config"),

        // Topics and the log. log.dir is ./data in Gregor (Kafka: /tmp/kafka-logs), so data
        // survives a reboot and sits next to a zero-config start.
        List("log.dirs", null, synonyms: [new("log.dir")]),
        String("log.dir", "./data"),
        Int("num.partitions", "1", min: 1),
        Int("default.replication.factor", "1", min: 1),
        Int("min.insync.replicas", "1", min: 1),
        Boolean("auto.create.topics.enable", "true"),
        Boolean("delete.topic.enable", "true"),
        Boolean("auto.leader.rebalance.enable", "true"),
        Long("leader.imbalance.check.interval.seconds", "300", min: 1),
        Int("leader.imbalance.per.broker.percentage", "10"),
        Boolean("unclean.leader.election.enable", "false"),
        Int("message.max.bytes", "1048588", min: 0),
        Int("log.segment.bytes", "1073741824", min: 1_048_576),
        Long("log.roll.ms", null, min: 1, synonyms: [new("log.roll.hours", Hour)]),
        Int("log.roll.hours", "168", min: 1),
        Long("log.roll.jitter.ms", null, min: 0, synonyms: [new("log.roll.jitter.hours", Hour)]),
        Int("log.roll.jitter.hours", "0", min: 0),
        Long("log.retention.ms", null, synonyms: [new("log.retention.minutes", Minute), new("log.retention.hours", Hour)]),
        Int("log.retention.minutes", null),
        Int("log.retention.hours", "168"),
        Long("log.retention.bytes", "-1"),
        Long("log.retention.check.interval.ms", "300000", min: 1),
        Long("log.segment.delete.delay.ms", "60000", min: 0),
        Long("log.flush.interval.messages", LongMax, min: 1),
        Long("log.flush.interval.ms", null, synonyms: [new("log.flush.scheduler.interval.ms")]),
        Long("log.flush.scheduler.interval.ms", LongMax),
        Int("log.flush.offset.checkpoint.interval.ms", "60000", min: 0),
        Int("log.flush.start.offset.checkpoint.interval.ms", "60000", min: 0),
        Int("log.index.size.max.bytes", "10485760", min: 4),
        Int("log.index.interval.bytes", "4096", min: 0),
        Boolean("log.preallocate", "false"),
        String("log.message.timestamp.type", "CreateTime", valid: ["CreateTime", "LogAppendTime"]),
        Long("log.message.timestamp.before.max.ms", LongMax, min: 0),
        Long("log.message.timestamp.after.max.ms", "3600000", min: 0),
        List("log.cleanup.policy", "delete", valid: ["delete", "compact"]),
        Boolean("log.cleaner.enable", "true"),
        Int("log.cleaner.threads", "1", min: 0),
        Double("log.cleaner.min.cleanable.ratio", "0.5", min: 0, max: 1),
        Long("log.cleaner.delete.retention.ms", "86400000", min: 0),
        Long("log.cleaner.min.compaction.lag.ms", "0", min: 0),
        Long("log.cleaner.max.compaction.lag.ms", LongMax, min: 1),
        Long("log.cleaner.backoff.ms", "15000", min: 0),
        Long("log.cleaner.dedupe.buffer.size", "134217728"),
        Int("log.cleaner.io.buffer.size", "524288", min: 0),
        Int("num.recovery.threads.per.data.dir", "2", min: 1),
        String("compression.type", "producer", valid: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        Int("compression.gzip.level", "-1", min: -1, max: 9),
        Int("compression.lz4.level", "9", min: 1, max: 17),
        Int("compression.zstd.level", "3", min: -131072, max: 22),

        // Replication.
        Long("replica.lag.time.max.ms", "30000"),
        Int("replica.fetch.max.bytes", "1048576", min: 0),
        Int("replica.fetch.response.max.bytes", "10485760", min: 0),
        Int("replica.fetch.wait.max.ms", "500"),
        Int("replica.fetch.min.bytes", "1"),
        Int("replica.fetch.backoff.ms", "1000", min: 0),
        Int("replica.socket.timeout.ms", "30000"),
        Int("num.replica.fetchers", "1"),
        Long("replica.high.watermark.checkpoint.interval.ms", "5000"),
        Int("fetch.max.bytes", "57671680", min: 1024),
        Int("max.incremental.fetch.session.cache.slots", "1000", min: 0),

        // Group coordinator.
        Int("offsets.topic.num.partitions", "50", min: 1),
        Short("offsets.topic.replication.factor", "3", min: 1),
        Int("offsets.topic.segment.bytes", "104857600", min: 1),
        Int("offsets.load.buffer.size", "5242880", min: 1),
        Int("offsets.retention.minutes", "10080", min: 1),
        Long("offsets.retention.check.interval.ms", "600000", min: 1),
        Int("offsets.commit.timeout.ms", "5000", min: 1),
        Int("offset.metadata.max.bytes", "4096"),
        Int("group.initial.rebalance.delay.ms", "3000"),
        Int("group.min.session.timeout.ms", "6000"),
        Int("group.max.session.timeout.ms", "1800000"),
        Int("group.max.size", IntMax, min: 1),
        List("group.coordinator.rebalance.protocols", "classic,consumer", valid: ["classic", "consumer", "share", "streams"]),
        Int("group.consumer.session.timeout.ms", "45000", min: 1),
        Int("group.consumer.min.session.timeout.ms", "45000", min: 1),
        Int("group.consumer.max.session.timeout.ms", "60000", min: 1),
        Int("group.consumer.heartbeat.interval.ms", "5000", min: 1),
        Int("group.consumer.min.heartbeat.interval.ms", "5000", min: 1),
        Int("group.consumer.max.heartbeat.interval.ms", "15000", min: 1),
        Int("group.consumer.max.size", IntMax, min: 1),

        // Transaction coordinator and producer ids.
        Int("transaction.state.log.num.partitions", "50", min: 1),
        Short("transaction.state.log.replication.factor", "3", min: 1),
        Int("transaction.state.log.min.isr", "2", min: 1),
        Int("transaction.state.log.segment.bytes", "104857600", min: 1),
        Int("transactional.id.expiration.ms", "604800000", min: 1),
        Int("transaction.max.timeout.ms", "900000", min: 1),
        Int("transaction.abort.timed.out.transaction.cleanup.interval.ms", "10000", min: 1),
        Int("transaction.remove.expired.transaction.cleanup.interval.ms", "3600000", min: 1),
        Boolean("transaction.partition.verification.enable", "true"),
        Int("producer.id.expiration.ms", "86400000", min: 1),
    ];

    public static FrozenDictionary<string, BrokerConfigDefinition> ByName { get; } =
        All.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    private static BrokerConfigDefinition Int(string name, string? defaultValue, long? min = null, long? max = null) =>
        new(name, ConfigType.Int, defaultValue) { Min = min, Max = max };

    private static BrokerConfigDefinition Short(string name, string? defaultValue, long? min = null) =>
        new(name, ConfigType.Short, defaultValue) { Min = min };

    private static BrokerConfigDefinition Long(string name, string? defaultValue, long? min = null, IReadOnlyList<ConfigSynonymDefinition>? synonyms = null) =>
        new(name, ConfigType.Long, defaultValue) { Min = min, Synonyms = synonyms ?? [] };

    private static BrokerConfigDefinition Double(string name, string defaultValue, double min, double max) =>
        new(name, ConfigType.Double, defaultValue) { MinDouble = min, MaxDouble = max };

    private static BrokerConfigDefinition Boolean(string name, string defaultValue) =>
        new(name, ConfigType.Boolean, defaultValue);

    private static BrokerConfigDefinition String(string name, string? defaultValue, IReadOnlyList<string>? valid = null) =>
        new(name, ConfigType.String, defaultValue) { ValidValues = valid };

    private static BrokerConfigDefinition List(string name, string? defaultValue, IReadOnlyList<string>? valid = null, IReadOnlyList<ConfigSynonymDefinition>? synonyms = null) =>
        new(name, ConfigType.List, defaultValue) { ValidValues = valid, Synonyms = synonyms ?? [] };

    private static BrokerConfigDefinition Password(string name) =>
        new(name, ConfigType.Password, null);

    internal static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
