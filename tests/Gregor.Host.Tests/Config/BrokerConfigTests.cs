using Gregor.Broker.Config;
using Xunit;

namespace Gregor.Host.Tests.Config;

public sealed class BrokerConfigTests
{
    private static BrokerConfig Config(params (string Key, string Value)[] properties) =>
        new(properties.ToDictionary(p => p.Key, p => p.Value), () => "broker.example.com");

    [Fact]
    public void Defaults_are_kafkas_except_where_gregor_chooses_otherwise()
    {
        var config = Config();
        Assert.Equal(1, config.NodeId);
        Assert.Equal(["broker", "controller"], config.ProcessRoles);
        Assert.True(config.IsBroker && config.IsController);
        var listener = Assert.Single(config.Listeners);
        Assert.Equal(new ListenerConfig("PLAINTEXT", "localhost", 9092, SecurityProtocol.Plaintext), listener);
        Assert.Equal("PLAINTEXT://localhost:9092", Assert.Single(config.AdvertisedListeners).ConnectionString);
        Assert.Equal("PLAINTEXT", config.InterBrokerListenerName);
        Assert.Equal(["./data"], config.LogDirs);
        Assert.Equal(1, config.NumPartitions);
        Assert.Equal((short)1, config.DefaultReplicationFactor);
        Assert.Equal(1, config.MinInsyncReplicas);
        Assert.True(config.AutoCreateTopicsEnable);
        Assert.True(config.DeleteTopicEnable);
        Assert.False(config.UncleanLeaderElectionEnable);
        Assert.Equal(1048588, config.MessageMaxBytes);
        Assert.Equal(104857600, config.SocketRequestMaxBytes);
        Assert.Equal(102400, config.SocketSendBufferBytes);
        Assert.Equal(102400, config.SocketReceiveBufferBytes);
        Assert.Equal(600000, config.ConnectionsMaxIdleMs);
        Assert.Equal(3, config.NumNetworkThreads);
        Assert.Equal(8, config.NumIoThreads);
        Assert.Equal(1073741824, config.LogSegmentBytes);
        Assert.Equal(168 * 3_600_000L, config.LogRollMs);
        Assert.Equal(168 * 3_600_000L, config.LogRetentionMs);
        Assert.Equal(-1, config.LogRetentionBytes);
        Assert.Equal(300000, config.LogRetentionCheckIntervalMs);
        Assert.Equal(long.MaxValue, config.LogFlushIntervalMessages);
        Assert.Equal(long.MaxValue, config.LogFlushIntervalMs);
        Assert.Equal(60000, config.LogFlushOffsetCheckpointIntervalMs);
        Assert.Equal(10485760, config.LogIndexSizeMaxBytes);
        Assert.Equal(4096, config.LogIndexIntervalBytes);
        Assert.Equal("CreateTime", config.LogMessageTimestampType);
        Assert.Equal(["delete"], config.LogCleanupPolicy);
        Assert.Equal("producer", config.CompressionType);
        Assert.Equal(50, config.OffsetsTopicNumPartitions);
        Assert.Equal((short)3, config.OffsetsTopicReplicationFactor);
        Assert.Equal((short)3, config.TransactionStateLogReplicationFactor);
        Assert.Equal(2, config.TransactionStateLogMinIsr);
        Assert.Equal(3000, config.GroupInitialRebalanceDelayMs);
        Assert.Equal(6000, config.GroupMinSessionTimeoutMs);
        Assert.Equal(1800000, config.GroupMaxSessionTimeoutMs);
        Assert.Equal(30000, config.ReplicaLagTimeMaxMs);
        Assert.Equal(9000, config.BrokerSessionTimeoutMs);
    }

    [Fact]
    public void Every_definition_default_validates_and_names_are_unique()
    {
        Assert.Equal(BrokerConfigDefinitions.All.Count, BrokerConfigDefinitions.All.Select(d => d.Name).Distinct().Count());
        foreach (var synonym in BrokerConfigDefinitions.All.SelectMany(d => d.Synonyms))
        {
            Assert.True(BrokerConfigDefinitions.IsKnown(synonym.Name), synonym.Name);
        }

        Assert.Equal(BrokerConfigDefinitions.All.Count, BrokerConfig.Default.Describe().Count());
    }

    [Theory]
    [InlineData("PLAINTEXT://localhost:9092", "PLAINTEXT", "localhost", 9092)]
    [InlineData("PLAINTEXT://:9092", "PLAINTEXT", "", 9092)]
    [InlineData("plaintext://127.0.0.1:0", "PLAINTEXT", "127.0.0.1", 0)]
    [InlineData("PLAINTEXT://[::1]:19092", "PLAINTEXT", "::1", 19092)]
    [InlineData("PLAINTEXT://[fe80::1%eth0]:9092", "PLAINTEXT", "fe80::1%eth0", 9092)]
    [InlineData(" PLAINTEXT://my-host.example.com:9092 ", "PLAINTEXT", "my-host.example.com", 9092)]
    public void Listener_parsing(string value, string name, string host, int port)
    {
        var config = Config(("listeners", value));
        var listener = Assert.Single(config.Listeners);
        Assert.Equal(new ListenerConfig(name, host, port, SecurityProtocol.Plaintext), listener);
    }

    [Fact]
    public void Several_listeners_with_a_custom_name_in_the_protocol_map()
    {
        var config = Config(
            ("listeners", "PLAINTEXT://:9092,INTERNAL://10.0.0.1:19092,CONTROLLER://:9093"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"),
            ("controller.listener.names", "CONTROLLER"),
            ("inter.broker.listener.name", "INTERNAL"));

        Assert.Equal(["PLAINTEXT://:9092", "INTERNAL://10.0.0.1:19092", "CONTROLLER://:9093"], config.Listeners.Select(l => l.ConnectionString));
        // Advertised defaults to the non-controller listeners, empty host → canonical host name.
        Assert.Equal(["PLAINTEXT://broker.example.com:9092", "INTERNAL://10.0.0.1:19092"], config.AdvertisedListeners.Select(l => l.ConnectionString));
        Assert.Equal("INTERNAL", config.InterBrokerListenerName);
    }

    [Theory]
    [InlineData("PLAINTEXT://0.0.0.0:9092")]
    [InlineData("PLAINTEXT://[::]:9092")]
    [InlineData("PLAINTEXT://:9092")]
    public void Wildcard_listener_is_advertised_under_the_canonical_host_name(string listeners)
    {
        var config = Config(("listeners", listeners));
        Assert.Equal("PLAINTEXT://broker.example.com:9092", Assert.Single(config.AdvertisedListeners).ConnectionString);
    }

    [Fact]
    public void Controller_listener_not_in_the_default_map_is_plaintext()
    {
        var config = Config(
            ("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"),
            ("controller.listener.names", "CONTROLLER"));
        Assert.Equal(SecurityProtocol.Plaintext, config.ListenerSecurityProtocolMap["CONTROLLER"]);
        Assert.Equal(["PLAINTEXT"], config.AdvertisedListeners.Select(l => l.Name));
    }

    [Fact]
    public void Port_0_is_advertised_as_the_bound_port()
    {
        var config = Config(("listeners", "PLAINTEXT://127.0.0.1:0,OTHER://127.0.0.1:0"), ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT"));
        Assert.All(config.AdvertisedListeners, l => Assert.Equal(0, l.Port));
        var resolved = config.ResolveAdvertisedListeners(new Dictionary<string, int> { ["PLAINTEXT"] = 40001, ["OTHER"] = 40002 });
        Assert.Equal(["PLAINTEXT://127.0.0.1:40001", "OTHER://127.0.0.1:40002"], resolved.Select(l => l.ConnectionString));
    }

    [Theory]
    [InlineData("listeners", "localhost:9092", "NAME://host:port")]
    [InlineData("listeners", "PLAINTEXT://localhost", "NAME://host:port")]
    [InlineData("listeners", "PLAINTEXT://localhost:70000", "invalid port")]
    [InlineData("listeners", "UNMAPPED://localhost:9092", "No security protocol defined for listener UNMAPPED")]
    [InlineData("listeners", "PLAINTEXT://a:9092,PLAINTEXT://b:9093", "different name")]
    [InlineData("listeners", "SSL://localhost:9093", "only PLAINTEXT")]
    [InlineData("listeners", "", "At least one listener")]
    [InlineData("advertised.listeners", "PLAINTEXT://0.0.0.0:9092", "nonroutable")]
    [InlineData("advertised.listeners", "OTHER://h:9092", "No security protocol")]
    [InlineData("listener.security.protocol.map", "PLAINTEXT", "LISTENER_NAME:SECURITY_PROTOCOL")]
    [InlineData("listener.security.protocol.map", "PLAINTEXT:TLS", "Unknown security protocol")]
    [InlineData("num.partitions", "abc", "Invalid value abc for configuration num.partitions: Not a number of type INT")]
    [InlineData("num.partitions", "0", "at least 1")]
    [InlineData("num.partitions", "99999999999", "Not a number of type INT")]
    [InlineData("auto.create.topics.enable", "yes", "either true or false")]
    [InlineData("offsets.topic.replication.factor", "40000", "SHORT")]
    [InlineData("log.message.timestamp.type", "WallClock", "CreateTime, LogAppendTime")]
    [InlineData("log.cleanup.policy", "delete,archive", "delete, compact")]
    [InlineData("process.roles", "broker,zookeeper", "broker, controller")]
    [InlineData("process.roles", "", "KRaft")]
    [InlineData("log.dirs", " , ", "At least one log directory")]
    [InlineData("log.cleaner.min.cleanable.ratio", "1.5", "between")]
    [InlineData("inter.broker.listener.name", "NOPE", "advertised.listeners")]
    [InlineData("broker.id", "5", "must be equal")]
    public void Invalid_values_are_clear_config_errors(string key, string value, string expectedMessagePart)
    {
        var properties = new Dictionary<string, string> { [key] = value };
        if (key == "broker.id")
        {
            properties["node.id"] = "4";
        }

        var ex = Assert.Throws<ConfigException>(() => new BrokerConfig(properties, () => "h"));
        Assert.Contains(expectedMessagePart, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Broker_id_alone_sets_the_node_id()
    {
        Assert.Equal(5, Config(("broker.id", "5")).NodeId);
        Assert.Equal(5, Config(("broker.id", "5"), ("node.id", "5")).NodeId);
    }

    [Fact]
    public void Values_are_trimmed_and_booleans_case_insensitive()
    {
        var config = Config(("num.partitions", " 12 "), ("auto.create.topics.enable", "FALSE"));
        Assert.Equal(12, config.NumPartitions);
        Assert.False(config.AutoCreateTopicsEnable);
    }

    [Fact]
    public void Retention_synonyms_ms_beat_minutes_beat_hours()
    {
        Assert.Equal(2 * 3_600_000L, Config(("log.retention.hours", "2")).LogRetentionMs);
        Assert.Equal(5 * 60_000L, Config(("log.retention.hours", "2"), ("log.retention.minutes", "5")).LogRetentionMs);
        Assert.Equal(1234, Config(("log.retention.hours", "2"), ("log.retention.minutes", "5"), ("log.retention.ms", "1234")).LogRetentionMs);
        Assert.Equal(-1, Config(("log.retention.hours", "-1")).LogRetentionMs);
        Assert.Equal(3 * 3_600_000L, Config(("log.roll.hours", "3")).LogRollMs);
        Assert.Equal(500, Config(("log.flush.scheduler.interval.ms", "500")).LogFlushIntervalMs);
    }

    [Fact]
    public void Log_dir_is_used_when_log_dirs_is_unset()
    {
        Assert.Equal(["/a"], Config(("log.dir", "/a")).LogDirs);
        Assert.Equal(["/b", "/c"], Config(("log.dir", "/a"), ("log.dirs", "/b, /c")).LogDirs);
    }

    [Fact]
    public void Unknown_keys_are_kept_and_readable()
    {
        var config = Config(("confluent.support.metrics.enable", "false"), ("num.partitions", "2"));
        Assert.Equal("false", config.GetRaw("confluent.support.metrics.enable"));
        Assert.Equal("2", config.GetRaw("num.partitions"));
        Assert.Equal("1048588", config.GetRaw("message.max.bytes"));
        Assert.Null(config.GetRaw("no.such.key"));
        Assert.Equal(["confluent.support.metrics.enable"], config.UnknownKeys);
        Assert.DoesNotContain(config.Describe(), e => e.Name == "confluent.support.metrics.enable");
    }

    [Fact]
    public void Describe_reports_kafkas_source_and_type_numbers()
    {
        var config = Config(("num.partitions", "4"), ("ssl.keystore.password", "secret"));
        var entries = config.Describe(["num.partitions", "message.max.bytes", "ssl.keystore.password", "auto.create.topics.enable", "no.such.key"]).ToDictionary(e => e.Name);

        Assert.Equal(4, entries.Count);
        var partitions = entries["num.partitions"];
        Assert.Equal("4", partitions.Value);
        Assert.Equal((sbyte)4, (sbyte)partitions.Source); // STATIC_BROKER_CONFIG
        Assert.Equal((sbyte)3, (sbyte)partitions.Type); // INT
        Assert.False(partitions.IsDefault);
        Assert.True(partitions.ReadOnly);
        Assert.Equal([new BrokerConfigSynonym("num.partitions", "4", ConfigSource.StaticBrokerConfig), new BrokerConfigSynonym("num.partitions", "1", ConfigSource.DefaultConfig)], partitions.Synonyms);

        var maxBytes = entries["message.max.bytes"];
        Assert.Equal("1048588", maxBytes.Value);
        Assert.Equal((sbyte)5, (sbyte)maxBytes.Source); // DEFAULT_CONFIG
        Assert.True(maxBytes.IsDefault);

        var password = entries["ssl.keystore.password"];
        Assert.Null(password.Value);
        Assert.True(password.Sensitive);
        Assert.Equal((sbyte)9, (sbyte)password.Type); // PASSWORD
        Assert.Equal((sbyte)4, (sbyte)password.Source);
        Assert.All(password.Synonyms, s => Assert.Null(s.Value));

        Assert.Equal((sbyte)1, (sbyte)entries["auto.create.topics.enable"].Type); // BOOLEAN
    }

    [Fact]
    public void Describe_lists_synonyms_in_order_of_precedence()
    {
        var config = Config(("log.roll.hours", "24"));
        var roll = Assert.Single(config.Describe(["log.roll.ms"]));
        Assert.Equal((24 * 3_600_000L).ToString(System.Globalization.CultureInfo.InvariantCulture), roll.Value);
        Assert.Equal(ConfigSource.StaticBrokerConfig, roll.Source);
        Assert.Equal((sbyte)5, (sbyte)roll.Type); // LONG
        Assert.Equal(
            [new BrokerConfigSynonym("log.roll.hours", "24", ConfigSource.StaticBrokerConfig), new BrokerConfigSynonym("log.roll.hours", "168", ConfigSource.DefaultConfig)],
            roll.Synonyms);

        var retention = Assert.Single(BrokerConfig.Default.Describe(["log.retention.ms"]));
        Assert.Equal("604800000", retention.Value);
        Assert.Equal(ConfigSource.DefaultConfig, retention.Source);
        Assert.Equal([new BrokerConfigSynonym("log.retention.hours", "168", ConfigSource.DefaultConfig)], retention.Synonyms);

        var dirs = Assert.Single(BrokerConfig.Default.Describe(["log.dirs"]));
        Assert.Equal("./data", dirs.Value);
        Assert.Equal((sbyte)7, (sbyte)dirs.Type); // LIST
    }

    [Fact]
    public void Config_source_numbers_agree_with_confluent_kafka()
    {
        Assert.Equal((int)Confluent.Kafka.Admin.ConfigSource.UnknownConfig, (int)ConfigSource.Unknown);
        Assert.Equal((int)Confluent.Kafka.Admin.ConfigSource.DynamicTopicConfig, (int)ConfigSource.DynamicTopicConfig);
        Assert.Equal((int)Confluent.Kafka.Admin.ConfigSource.DynamicBrokerConfig, (int)ConfigSource.DynamicBrokerConfig);
        Assert.Equal((int)Confluent.Kafka.Admin.ConfigSource.DynamicDefaultBrokerConfig, (int)ConfigSource.DynamicDefaultBrokerConfig);
        Assert.Equal((int)Confluent.Kafka.Admin.ConfigSource.StaticBrokerConfig, (int)ConfigSource.StaticBrokerConfig);
        Assert.Equal((int)Confluent.Kafka.Admin.ConfigSource.DefaultConfig, (int)ConfigSource.DefaultConfig);
    }

    [Fact]
    public void Enum_numbers_match_the_wire()
    {
        Assert.Equal(
            [0, 1, 2, 3, 4, 5, 6, 7, 8],
            Enum.GetValues<ConfigSource>().Select(v => (int)v));
        Assert.Equal(
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            Enum.GetValues<ConfigType>().Select(v => (int)v));
        Assert.Equal(ConfigSource.StaticBrokerConfig, Enum.Parse<ConfigSource>("StaticBrokerConfig"));
        Assert.Equal(4, (int)ConfigSource.StaticBrokerConfig);
        Assert.Equal(5, (int)ConfigSource.DefaultConfig);
        Assert.Equal(9, (int)ConfigType.Password);
    }
}
