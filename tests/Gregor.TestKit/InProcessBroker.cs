using Gregor.Host;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.TestKit;

/// <summary>
/// A real Gregor broker inside the test process: real sockets on an ephemeral loopback port, real
/// files in a data directory. Tests talk to it with real Kafka clients.
/// </summary>
public sealed class InProcessBroker : IAsyncDisposable
{
    private readonly TempDirectory? _ownedDirectory;
    private readonly Dictionary<string, string> _properties;
    private BrokerServer? _server;

    private InProcessBroker(string dataDirectory, TempDirectory? ownedDirectory, IReadOnlyDictionary<string, string>? overrides)
    {
        DataDirectory = dataDirectory;
        _ownedDirectory = ownedDirectory;
        _properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["node.id"] = "1",
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = dataDirectory,
            // Tests never wait for the production default of 3 s before a group's first rebalance.
            ["group.initial.rebalance.delay.ms"] = "0",
        };
        if (overrides is not null)
        {
            foreach (var (key, value) in overrides)
            {
                _properties[key] = value;
            }
        }
    }

    /// <summary>The data directory (log.dirs); it survives <see cref="RestartAsync"/>.</summary>
    public string DataDirectory { get; }

    public string BootstrapServers => _server?.BootstrapServers ?? throw new InvalidOperationException("The broker is not running.");

    public BrokerServer Server => _server ?? throw new InvalidOperationException("The broker is not running.");

    public static async Task<InProcessBroker> StartAsync(IReadOnlyDictionary<string, string>? overrides = null, string? dataDirectory = null)
    {
        TempDirectory? owned = null;
        if (dataDirectory is null)
        {
            owned = new TempDirectory("gregor-broker");
            dataDirectory = owned.Path;
        }

        var broker = new InProcessBroker(dataDirectory, owned, overrides);
        await broker.StartServerAsync().ConfigureAwait(false);
        return broker;
    }

    /// <summary>Stops the broker cleanly; <see cref="StartAgainAsync"/> brings it back on the same data.</summary>
    public async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync().ConfigureAwait(false);
            await _server.DisposeAsync().ConfigureAwait(false);
            _server = null;
        }
    }

    public Task StartAgainAsync() => StartServerAsync();

    public async Task RestartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await StartServerAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _ownedDirectory?.Dispose();
    }

    private async Task StartServerAsync()
    {
        var server = new BrokerServer(_properties, CreateLoggerFactory());
        await server.StartAsync().ConfigureAwait(false);
        _server = server;

        // Later starts reuse the first start's port, so clients created before a restart
        // reconnect to the same address, as they would to a restarted Kafka broker.
        if (_properties["listeners"].EndsWith(":0", StringComparison.Ordinal))
        {
            _properties["listeners"] = $"PLAINTEXT://127.0.0.1:{server.BoundEndpoints[0].Port}";
        }
    }

    private static ILoggerFactory CreateLoggerFactory()
    {
        // GREGOR_TEST_LOG=Debug (or Information, ...) shows the broker's log while a test runs.
        var level = Environment.GetEnvironmentVariable("GREGOR_TEST_LOG");
        if (string.IsNullOrEmpty(level) || !Enum.TryParse<LogLevel>(level, ignoreCase: true, out var minimum))
        {
            return NullLoggerFactory.Instance;
        }

        return LoggerFactory.Create(builder => builder.SetMinimumLevel(minimum).AddSimpleConsole(o => o.SingleLine = true));
    }
}
