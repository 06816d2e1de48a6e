using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Gregor.Host;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.TestKit;

/// <summary>
/// A Gregor cluster inside the test process: N <see cref="BrokerServer"/>s in combined mode
/// (every node a broker and a Raft voter) and optionally broker-only observers, each with its own data directory, Kafka listener on
/// an ephemeral loopback port and Raft port reserved up front. Nodes can be stopped and started
/// again on the same data and ports.
/// </summary>
public sealed class InProcessCluster : IAsyncDisposable
{
    private readonly TempDirectory _root;
    private readonly Dictionary<int, Dictionary<string, string>> _properties = new();
    private readonly Dictionary<int, BrokerServer?> _servers = new();

    private InProcessCluster(TempDirectory root)
    {
        _root = root;
    }

    /// <summary>Node ids, 1..N.</summary>
    public IReadOnlyList<int> NodeIds => [.. _properties.Keys.Order()];

    /// <summary>The nodes currently running.</summary>
    public IReadOnlyList<BrokerServer> RunningServers => [.. _servers.Where(s => s.Value is not null).OrderBy(s => s.Key).Select(s => s.Value!)];

    /// <summary>Every running broker's address, comma-separated: a client's bootstrap.servers.</summary>
    public string BootstrapServers => string.Join(",", RunningServers.Select(s => s.BootstrapServers));

    /// <summary>
    /// Starts <paramref name="brokers"/> nodes. Returns once every node is started; use
    /// <see cref="WaitForBrokersAsync"/> to wait until all are registered and unfenced.
    /// </summary>
    /// <param name="brokerOnly">
    /// Broker-only nodes (ids after the voters', <c>process.roles=broker</c>) that observe the
    /// metadata log through <c>controller.quorum.bootstrap.servers</c>; started after the voters,
    /// whose listeners they bootstrap from.
    /// </param>
    /// <param name="controllerOnly">Whether the voters are controller-only nodes (<c>process.roles=controller</c>) rather than combined ones.</param>
    public static async Task<InProcessCluster> StartAsync(int brokers = 3, IReadOnlyDictionary<string, string>? overrides = null, int brokerOnly = 0, bool controllerOnly = false)
    {
        var cluster = new InProcessCluster(new TempDirectory("gregor-cluster"));
        try
        {
            var raftPorts = TestPorts.Reserve(brokers);
            var voters = string.Join(",", Enumerable.Range(1, brokers).Select(id => $"{id}@127.0.0.1:{raftPorts[id - 1]}"));
            for (var id = 1; id <= brokers; id++)
            {
                var properties = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["node.id"] = id.ToString(CultureInfo.InvariantCulture),
                    ["process.roles"] = controllerOnly ? "controller" : "broker,controller",
                    ["controller.quorum.voters"] = voters,
                    ["listeners"] = "PLAINTEXT://127.0.0.1:0",
                    ["log.dirs"] = Path.Combine(cluster._root.Path, $"node-{id}"),
                    ["group.initial.rebalance.delay.ms"] = "0",
                    ["controller.quorum.election.timeout.ms"] = "500",
                    ["broker.heartbeat.interval.ms"] = "500",
                    ["broker.session.timeout.ms"] = "4000",
                };
                if (overrides is not null)
                {
                    foreach (var (key, value) in overrides)
                    {
                        properties[key] = value;
                    }
                }

                cluster._properties[id] = properties;
                cluster._servers[id] = null;
            }

            await Task.WhenAll(cluster.NodeIds.Select(cluster.StartNodeAsync)).ConfigureAwait(false);
            var controllers = cluster.BootstrapServers;
            for (var id = brokers + 1; id <= brokers + brokerOnly; id++)
            {
                var properties = new Dictionary<string, string>(cluster._properties[1], StringComparer.Ordinal)
                {
                    ["node.id"] = id.ToString(CultureInfo.InvariantCulture),
                    ["process.roles"] = "broker",
                    ["controller.quorum.bootstrap.servers"] = controllers,
                    ["listeners"] = "PLAINTEXT://127.0.0.1:0",
                    ["log.dirs"] = Path.Combine(cluster._root.Path, $"node-{id}"),
                };
                cluster._properties[id] = properties;
                cluster._servers[id] = null;
                await cluster.StartNodeAsync(id).ConfigureAwait(false);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public BrokerServer Server(int nodeId) =>
        _servers.TryGetValue(nodeId, out var server) && server is not null ? server : throw new InvalidOperationException($"Node {nodeId} is not running.");

    public bool IsRunning(int nodeId) => _servers.TryGetValue(nodeId, out var server) && server is not null;

    /// <summary>Stops one node cleanly (controlled shutdown first).</summary>
    public async Task StopNodeAsync(int nodeId)
    {
        if (_servers.TryGetValue(nodeId, out var server) && server is not null)
        {
            _servers[nodeId] = null;
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops one node without a controlled shutdown, as a killed broker: its leaderships and ISR
    /// places stay until its session (<c>broker.session.timeout.ms</c>) expires.
    /// </summary>
    public async Task KillNodeAsync(int nodeId)
    {
        if (_servers.TryGetValue(nodeId, out var server) && server is not null)
        {
            _servers[nodeId] = null;
            await server.StopWithoutControlledShutdownAsync().ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Starts a stopped node again on its data directory and ports.</summary>
    public async Task StartNodeAsync(int nodeId)
    {
        if (IsRunning(nodeId))
        {
            throw new InvalidOperationException($"Node {nodeId} is running.");
        }

        var properties = _properties[nodeId];
        var server = new BrokerServer(properties, CreateLoggerFactory(nodeId));
        await server.StartAsync().ConfigureAwait(false);
        lock (_servers)
        {
            _servers[nodeId] = server;
        }

        // Restarts keep the first start's port, as a restarted Kafka broker keeps its address.
        if (properties["listeners"].EndsWith(":0", StringComparison.Ordinal))
        {
            properties["listeners"] = $"PLAINTEXT://127.0.0.1:{server.BoundEndpoints[0].Port}";
        }
    }

    /// <summary>The active controller's node id, as the running nodes agree on it (waits for an election).</summary>
    public async Task<int> WaitForActiveControllerAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var active = RunningServers.Where(s => s.Controller.IsActive).Select(s => s.NodeId).ToList();
            if (active.Count == 1 && RunningServers.All(s => s.Controller.ActiveControllerId == active[0]))
            {
                return active[0];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No single active controller after {timeout ?? TimeSpan.FromSeconds(20)}.");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until every running node is unfenced and every running node's metadata lists exactly
    /// the running nodes as alive brokers.
    /// </summary>
    public async Task WaitForBrokersAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var running = RunningServers.Where(s => s.Config.IsBroker).ToList();
            var ids = running.Select(s => s.NodeId).Order().ToList();
            if (running.All(s => !s.BrokerLifecycle.IsFenced
                    && s.Metadata.AliveBrokers.Select(b => b.NodeId).Order().SequenceEqual(ids)))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                var state = string.Join("; ", running.Select(s =>
                    $"node {s.NodeId}: fenced={s.BrokerLifecycle.IsFenced}, alive=[{string.Join(",", s.Metadata.AliveBrokers.Select(b => b.NodeId))}], controller={s.Controller.ActiveControllerId}"));
                throw new TimeoutException($"The brokers did not all register within {limit}: {state}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // In parallel: a node stopping alone would wait for a controller that is stopping too.
        await Task.WhenAll(NodeIds.Select(StopNodeAsync)).ConfigureAwait(false);
        _root.Dispose();
    }

    private static ILoggerFactory CreateLoggerFactory(int nodeId)
    {
        // GREGOR_TEST_LOG=Debug (or Information, ...) shows the nodes' logs while a test runs.
        var level = Environment.GetEnvironmentVariable("GREGOR_TEST_LOG");
        if (string.IsNullOrEmpty(level) || !Enum.TryParse<LogLevel>(level, ignoreCase: true, out var minimum))
        {
            return NullLoggerFactory.Instance;
        }

        return LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimum)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = $"HH:mm:ss.fff '[node {nodeId}]' ";
            }));
    }
}
