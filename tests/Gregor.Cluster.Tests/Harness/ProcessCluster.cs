using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit.Abstractions;

namespace Gregor.Cluster.Tests.Harness;

/// <summary>
/// N combined-mode Gregor nodes (broker and controller in one process, as KRaft's combined mode)
/// on ephemeral loopback ports, each a separate process with its own data directory. Use
/// <see cref="RunAsync"/>: it starts the nodes, waits until every broker's Metadata lists all N,
/// runs the test, puts every node's last log lines into the failure message when the test fails,
/// and always kills the processes and deletes the data.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly string _workDirectory;
    private readonly ITestOutputHelper? _output;

    private ProcessCluster(IReadOnlyList<GregorNode> nodes, string workDirectory, ITestOutputHelper? output)
    {
        Nodes = nodes;
        _workDirectory = workDirectory;
        _output = output;
    }

    public IReadOnlyList<GregorNode> Nodes { get; }

    /// <summary>Node by id (ids are 1..N).</summary>
    public GregorNode Node(int nodeId) => Nodes[nodeId - 1];

    /// <summary>Every node's client address, as a client's bootstrap.servers.</summary>
    public string BootstrapServers => string.Join(',', Nodes.Select(n => n.BootstrapServers));

    /// <summary>The client addresses of the nodes that run now.</summary>
    public string RunningBootstrapServers => string.Join(',', Nodes.Where(n => n.IsRunning).Select(n => n.BootstrapServers));

    /// <summary>
    /// Settings every node gets unless the test overrides them: short session and lag timeouts so
    /// failures are noticed within seconds rather than Kafka's 9 s / 30 s.
    /// </summary>
    public static IReadOnlyDictionary<string, string> DefaultSettings { get; } = new Dictionary<string, string>
    {
        ["broker.session.timeout.ms"] = "3000",
        ["broker.heartbeat.interval.ms"] = "500",
        ["replica.lag.time.max.ms"] = "5000",
        ["controller.quorum.election.timeout.ms"] = "1000",
        ["min.insync.replicas"] = "2",
        ["auto.create.topics.enable"] = "false",
    };

    public static async Task RunAsync(int nodeCount, ITestOutputHelper? output, Func<ProcessCluster, Task> test, IReadOnlyDictionary<string, string>? settings = null)
    {
        ProcessCluster? cluster = null;
        try
        {
            cluster = Create(nodeCount, output, settings);
            await cluster.StartAllAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            await test(cluster).ConfigureAwait(false);
        }
        catch (Exception e) when (cluster is not null)
        {
            throw new ClusterTestException(e.Message + "\n\n" + cluster.Report(), e);
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public static ProcessCluster Create(int nodeCount, ITestOutputHelper? output, IReadOnlyDictionary<string, string>? settings = null)
    {
        var work = Path.Combine(Path.GetTempPath(), $"gregor-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var ports = TestPorts.Reserve(nodeCount * 2).ToList();
        var nodes = new List<GregorNode>();
        for (var i = 0; i < nodeCount; i++)
        {
            nodes.Add(new GregorNode(i + 1, ports[2 * i], ports[(2 * i) + 1], work));
        }

        var voters = string.Join(',', nodes.Select(n => $"{n.NodeId}@127.0.0.1:{n.ControllerPort}"));
        var replication = Math.Min(3, nodeCount).ToString(CultureInfo.InvariantCulture);
        foreach (var node in nodes)
        {
            var properties = new Dictionary<string, string>(DefaultSettings)
            {
                ["node.id"] = node.NodeId.ToString(CultureInfo.InvariantCulture),
                ["process.roles"] = "broker,controller",
                ["listeners"] = $"PLAINTEXT://127.0.0.1:{node.ClientPort},CONTROLLER://127.0.0.1:{node.ControllerPort}",
                ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{node.ClientPort}",
                ["controller.listener.names"] = "CONTROLLER",
                ["inter.broker.listener.name"] = "PLAINTEXT",
                ["controller.quorum.voters"] = voters,
                ["log.dirs"] = node.DataDirectory,
                ["default.replication.factor"] = replication,
                ["offsets.topic.replication.factor"] = replication,
                ["transaction.state.log.replication.factor"] = replication,
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                properties[key] = value;
            }

            File.WriteAllLines(node.PropertiesPath, properties.Select(p => $"{p.Key}={p.Value}"));
        }

        return new ProcessCluster(nodes, work, output);
    }

    /// <summary>Starts every node and waits until each one's Metadata lists all of them.</summary>
    public async Task StartAllAsync(TimeSpan timeout)
    {
        foreach (var node in Nodes)
        {
            node.Start();
        }

        await WaitUntilFormedAsync(timeout).ConfigureAwait(false);
    }

    /// <summary>Waits until every running node answers Metadata listing every node of the cluster.</summary>
    public async Task WaitUntilFormedAsync(TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        var last = "";
        while (true)
        {
            var ready = 0;
            var states = new StringBuilder();
            foreach (var node in Nodes.Where(n => n.IsRunning))
            {
                var seen = BrokersSeenBy(node);
                states.Append(CultureInfo.InvariantCulture, $" node {node.NodeId} lists [{string.Join(',', seen)}];");
                if (seen.Count == Nodes.Count)
                {
                    ready++;
                }
            }

            foreach (var node in Nodes)
            {
                if (!node.IsRunning)
                {
                    states.Append(CultureInfo.InvariantCulture, $" node {node.NodeId} not running;");
                }
            }

            last = states.ToString();
            if (ready == Nodes.Count)
            {
                Log($"cluster formed after {stopwatch.Elapsed.TotalSeconds:F1} s");
                return;
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"The {Nodes.Count}-node cluster did not form within {timeout.TotalSeconds:F0} s (every node's Metadata must list every node):{last}");
            }

            await Task.Delay(500).ConfigureAwait(false);
        }
    }

    /// <summary>The broker ids one node's Metadata response lists (empty when it does not answer).</summary>
    public static IReadOnlyList<int> BrokersSeenBy(GregorNode node)
    {
        try
        {
            using var admin = ClusterClients.Admin(node.BootstrapServers);
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(2));
            return [.. metadata.Brokers.Select(b => b.BrokerId).Order()];
        }
        catch (KafkaException)
        {
            return [];
        }
    }

    public void Log(string message) => _output?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");

    /// <summary>Every node's state and last log lines.</summary>
    public string Report()
    {
        var report = new StringBuilder();
        report.Append(CultureInfo.InvariantCulture, $"cluster work directory {_workDirectory}\n");
        foreach (var node in Nodes)
        {
            report.Append(CultureInfo.InvariantCulture, $"---- node {node.NodeId} ({(node.IsRunning ? "running" : "not running")}), client port {node.ClientPort}, controller port {node.ControllerPort}; last lines:\n");
            report.Append(node.Tail()).Append('\n');
        }

        return report.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            try
            {
                if (node.IsRunning)
                {
                    // A paused node does not act on SIGTERM; SIGKILL works either way.
                    node.Kill();
                }
            }
            catch (InvalidOperationException)
            {
            }
        }

        if (Environment.GetEnvironmentVariable("GREGOR_KEEP_CLUSTER_DATA") != "1")
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                try
                {
                    Directory.Delete(_workDirectory, recursive: true);
                    break;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    await Task.Delay(200).ConfigureAwait(false);
                }
            }
        }
    }
}

/// <summary>A failed cluster test: the original failure plus every node's last log lines.</summary>
public sealed class ClusterTestException : Exception
{
    public ClusterTestException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
