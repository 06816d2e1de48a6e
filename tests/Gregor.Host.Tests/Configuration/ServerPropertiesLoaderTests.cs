using Gregor.Broker.Config;
using Gregor.Host.Configuration;
using Gregor.TestKit;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Gregor.Host.Tests.Configuration;

public sealed class ServerPropertiesLoaderTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    [Theory]
    [InlineData("GREGOR_LOG_DIRS", "log.dirs")]
    [InlineData("GREGOR_NODE_ID", "node.id")]
    [InlineData("GREGOR_LISTENER_SECURITY_PROTOCOL_MAP", "listener.security.protocol.map")]
    [InlineData("GREGOR_CONFLUENT_SUPPORT__METRICS_ENABLE", "confluent.support_metrics.enable")]
    [InlineData("GREGOR_LISTENER_NAME_INTERNAL_SSL___CLIENT_AUTH", "listener.name.internal.ssl-client.auth")]
    [InlineData("GREGOR_A____B", "a-.b")]
    public void Environment_variable_names_map_like_confluents_images(string variable, string expected)
    {
        Assert.Equal(expected, ServerPropertiesLoader.EnvironmentVariableToProperty(variable));
    }

    [Theory]
    [InlineData("KAFKA_LOG_DIRS")]
    [InlineData("PATH")]
    [InlineData("GREGOR_")]
    [InlineData("GREGOR_OPTS")]
    [InlineData("gregor_log_dirs")]
    public void Other_environment_variables_are_ignored(string variable)
    {
        Assert.Null(ServerPropertiesLoader.EnvironmentVariableToProperty(variable));
    }

    [Fact]
    public void Precedence_is_file_then_environment_then_overrides()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "server.properties");
        File.WriteAllText(file, "num.partitions=2\nlog.dirs=/from/file\nnode.id=7\nmy.custom.key=kept\n");
        var environment = new Dictionary<string, string>
        {
            ["GREGOR_LOG_DIRS"] = "/from/env",
            ["GREGOR_NODE_ID"] = "8",
            ["HOME"] = "/root",
        };

        var props = ServerPropertiesLoader.Load(
            [file, "--override", "node.id=9", "--override=message.max.bytes=2000000", "--override", "x=a=b"],
            environment);

        Assert.Equal(file, props.FilePath);
        Assert.Equal("2", props.Values["num.partitions"]);
        Assert.Equal(PropertyOrigin.File, props.Origins["num.partitions"]);
        Assert.Equal("/from/env", props.Values["log.dirs"]);
        Assert.Equal(PropertyOrigin.Environment, props.Origins["log.dirs"]);
        Assert.Equal("9", props.Values["node.id"]);
        Assert.Equal(PropertyOrigin.Override, props.Origins["node.id"]);
        Assert.Equal("2000000", props.Values["message.max.bytes"]);
        Assert.Equal("a=b", props.Values["x"]);
        Assert.Equal("kept", props.Values["my.custom.key"]);
        Assert.False(props.Values.ContainsKey("home"));
        Assert.Equal(6, props.Values.Count);
    }

    [Fact]
    public void No_arguments_means_no_file_and_only_environment()
    {
        var props = ServerPropertiesLoader.Load([], new Dictionary<string, string> { ["GREGOR_NUM_PARTITIONS"] = "4" });
        Assert.Null(props.FilePath);
        Assert.Equal("4", Assert.Single(props.Values).Value);
    }

    [Fact]
    public void Missing_file_is_a_clear_config_error()
    {
        var ex = Assert.Throws<ConfigException>(() => ServerPropertiesLoader.Load(["/nonexistent/server.properties"], NoEnvironment));
        Assert.Contains("not found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/server.properties", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--override", "novalue")]
    [InlineData("--override", "=value")]
    [InlineData("--override=")]
    [InlineData("--override")]
    [InlineData("--bogus")]
    [InlineData("a.properties", "b.properties")]
    public void Malformed_command_lines_are_config_errors(params string[] args)
    {
        var ex = Assert.Throws<ConfigException>(() => ServerPropertiesLoader.Load(args, NoEnvironment));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Unknown_keys_are_kept_and_logged_at_debug()
    {
        var logger = new ListLogger();
        var props = ServerPropertiesLoader.Load(["--override", "zookeeper.connect=localhost:2181", "--override", "num.partitions=2"], NoEnvironment, logger);
        Assert.Equal("localhost:2181", props.Values["zookeeper.connect"]);
        var (level, message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Debug, level);
        Assert.Contains("'zookeeper.connect'", message, StringComparison.Ordinal);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Entries.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public void Loaded_file_feeds_the_broker_config()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "server.properties");
        File.WriteAllText(file, """
            # Kafka's KRaft quickstart, abridged
            process.roles=broker,controller
            node.id=1
            controller.quorum.voters=1@localhost:9093
            listeners=PLAINTEXT://:9092,CONTROLLER://:9093
            inter.broker.listener.name=PLAINTEXT
            advertised.listeners=PLAINTEXT://localhost:9092
            controller.listener.names=CONTROLLER
            listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
            num.network.threads=3
            log.dirs=/tmp/kraft-combined-logs
            num.partitions=1
            offsets.topic.replication.factor=1
            transaction.state.log.replication.factor=1
            transaction.state.log.min.isr=1
            log.retention.hours=168
            log.segment.bytes=1073741824
            """);
        var props = ServerPropertiesLoader.Load([file, "--override", "num.partitions=3"], NoEnvironment);
        var config = new BrokerConfig(props.Values, () => "host.example");

        Assert.Equal(3, config.NumPartitions);
        Assert.Equal(["/tmp/kraft-combined-logs"], config.LogDirs);
        Assert.Equal(["PLAINTEXT", "CONTROLLER"], config.Listeners.Select(l => l.Name));
        Assert.Equal(["PLAINTEXT://localhost:9092"], config.AdvertisedListeners.Select(l => l.ConnectionString));
        Assert.Equal(["CONTROLLER"], config.ControllerListenerNames);
        Assert.Equal((short)1, config.OffsetsTopicReplicationFactor);

        var network = config.ToNetworkOptions();
        Assert.Equal([new("PLAINTEXT", "", 9092), new Gregor.Network.ListenerEndpoint("CONTROLLER", "", 9093)], network.Listeners);
        Assert.Equal(104857600, network.SocketRequestMaxBytes);
        Assert.Equal(600000, network.ConnectionsMaxIdleMs);
        Assert.Equal(50, network.SocketListenBacklogSize);
        Assert.Equal(102400, network.SocketSendBufferBytes);
        Assert.Equal(102400, network.SocketReceiveBufferBytes);
    }
}
