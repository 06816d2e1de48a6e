using System.Collections.Concurrent;
using Gregor.Broker;
using Gregor.Broker.Client;
using Gregor.Broker.Config;
using Gregor.Broker.Dispatch;
using Gregor.Broker.Handlers;
using Gregor.Broker.Metadata;
using Gregor.Broker.Producer;
using Gregor.Broker.Replica;
using Gregor.Broker.Transactions;
using Gregor.Host.Configuration;
using Gregor.Network;
using Gregor.Protocol;
using Gregor.Storage;
using Gregor.TestKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Broker.Tests.Replication;

/// <summary>
/// Three (or more) real brokers in the test process, each a LogManager + ReplicaManager +
/// RequestDispatcher + SocketServer on an ephemeral loopback port with its own data directory,
/// sharing one metadata view that this class controls the way a KRaft controller would: topics
/// with replica assignments, ISR-only leader election when a node stops, AlterPartition with
/// partition-epoch checks. Replication between the nodes is real Fetch/OffsetForLeaderEpoch
/// over TCP; clients are real Confluent.Kafka clients.
/// </summary>
internal sealed class ReplicationCluster : IMetadataView, ITopicMetadataWriter, IAlterPartitionChannel, IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TopicMetadata> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, Node> _nodes = new();
    private readonly Dictionary<int, int> _ports = [];
    private readonly TempDirectory _root = new("gregor-replication");
    private readonly IReadOnlyDictionary<string, string> _overrides;

    private ReplicationCluster(IReadOnlyDictionary<string, string>? overrides)
    {
        _overrides = overrides ?? new Dictionary<string, string>();
    }

    public string ClusterId => "replication-test-cluster";

    public int ControllerId => 1;

    public IReadOnlyList<BrokerNode> AliveBrokers =>
        _nodes.Values.OrderBy(n => n.NodeId).Select(n => new BrokerNode(n.NodeId, null, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", n.Port)])).ToArray();

    public IReadOnlyCollection<TopicMetadata> Topics
    {
        get
        {
            lock (_lock)
            {
                return _topics.Values.ToArray();
            }
        }
    }

    public event Action<TopicMetadata?, TopicMetadata?>? TopicsChanged;

    /// <summary>AlterPartition requests the controller accepted (for assertions on ISR changes).</summary>
    public ConcurrentQueue<(string Topic, int Partition, IReadOnlyList<int> Isr)> IsrChanges { get; } = new();

    public string BootstrapServers => string.Join(",", _nodes.Values.Select(n => $"127.0.0.1:{n.Port}"));

    public Node this[int nodeId] => _nodes[nodeId];

    public static async Task<ReplicationCluster> StartAsync(int nodes = 3, IReadOnlyDictionary<string, string>? overrides = null)
    {
        var cluster = new ReplicationCluster(overrides);
        for (var id = 1; id <= nodes; id++)
        {
            await cluster.StartNodeAsync(id);
        }

        return cluster;
    }

    public bool TryGetTopic(string name, out TopicMetadata topic)
    {
        lock (_lock)
        {
            return _topics.TryGetValue(name, out topic!);
        }
    }

    public bool TryGetTopic(Uuid topicId, out TopicMetadata topic)
    {
        lock (_lock)
        {
            topic = _topics.Values.FirstOrDefault(t => t.TopicId == topicId)!;
            return topic is not null;
        }
    }

    /// <summary>A topic with the given replicas per partition; the first replica leads, all are in the ISR.</summary>
    public TopicMetadata CreateTopic(string name, IReadOnlyList<IReadOnlyList<int>> replicaAssignment, IReadOnlyDictionary<string, string> configs)
    {
        TopicMetadata topic;
        lock (_lock)
        {
            if (_topics.ContainsKey(name))
            {
                throw new TopicMetadataException(ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.");
            }

            topic = new TopicMetadata(name, Uuid.NewRandom(),
                replicaAssignment.Select((replicas, i) => new PartitionMetadata(i, replicas[0], 0, 0, replicas.ToArray(), replicas.ToArray())).ToArray(),
                new Dictionary<string, string>(configs, StringComparer.Ordinal));
            _topics[name] = topic;
        }

        Publish(null, topic);
        return topic;
    }

    public TopicMetadata CreateTopic(string name, int partitions, int replicationFactor, IReadOnlyDictionary<string, string>? configs = null)
    {
        var ids = _nodes.Keys.Order().ToArray();
        var assignment = Enumerable.Range(0, partitions)
            .Select(p => (IReadOnlyList<int>)Enumerable.Range(0, replicationFactor).Select(r => ids[(p + r) % ids.Length]).ToArray())
            .ToArray();
        return CreateTopic(name, assignment, configs ?? new Dictionary<string, string>());
    }

    public TopicMetadata? DeleteTopic(string name) => throw new NotSupportedException();

    public TopicMetadata AlterTopicConfigs(string name, IReadOnlyDictionary<string, string> configs) => throw new NotSupportedException();

    public TopicMetadata AddPartitions(string name, IReadOnlyList<IReadOnlyList<int>> newReplicaAssignment) => throw new NotSupportedException();

    public PartitionMetadata Partition(string topic, int partition)
    {
        lock (_lock)
        {
            return _topics[topic].Partitions[partition];
        }
    }

    /// <summary>The controller side of AlterPartition: Kafka's leader epoch and partition epoch checks.</summary>
    public Task<AlterPartitionOutcome> AlterPartitionAsync(
        string topic, Uuid topicId, int partitionIndex, int leaderEpoch, int partitionEpoch, IReadOnlyList<int> newIsr, CancellationToken cancellationToken)
    {
        TopicMetadata old;
        TopicMetadata updated;
        PartitionMetadata result;
        lock (_lock)
        {
            if (!_topics.TryGetValue(topic, out old!) || old.TopicId != topicId)
            {
                return Task.FromResult(new AlterPartitionOutcome(ErrorCode.UnknownTopicOrPartition, null));
            }

            var current = old.Partitions[partitionIndex];
            if (leaderEpoch != current.LeaderEpoch)
            {
                return Task.FromResult(new AlterPartitionOutcome(ErrorCode.FencedLeaderEpoch, null));
            }

            if (partitionEpoch != current.PartitionEpoch)
            {
                return Task.FromResult(new AlterPartitionOutcome(ErrorCode.InvalidUpdateVersion, null));
            }

            result = current with { PartitionEpoch = current.PartitionEpoch + 1, Isr = newIsr.ToArray() };
            updated = Replace(old, result);
        }

        IsrChanges.Enqueue((topic, partitionIndex, newIsr.ToArray()));
        Publish(old, updated);
        return Task.FromResult(new AlterPartitionOutcome(ErrorCode.None, result));
    }

    /// <summary>
    /// Stops a node. As a KRaft controller does once the broker is fenced, partitions it led get a
    /// new leader from the rest of the ISR (leader and partition epoch bumped). It stays in the ISR
    /// of partitions it follows until their leader shrinks the ISR (replica.lag.time.max.ms).
    /// </summary>
    public async Task StopNodeAsync(int nodeId, bool electNewLeaders = true)
    {
        if (_nodes.TryRemove(nodeId, out var node))
        {
            await node.DisposeAsync();
        }

        if (electNewLeaders)
        {
            foreach (var topic in Topics)
            {
                foreach (var partition in topic.Partitions.Where(p => p.LeaderId == nodeId))
                {
                    var candidates = partition.Isr.Where(id => id != nodeId && _nodes.ContainsKey(id)).ToArray();
                    ElectLeader(topic.Name, partition.PartitionIndex, candidates.Length > 0 ? candidates[0] : -1, partition.Isr.Where(id => id != nodeId).DefaultIfEmpty(nodeId).ToArray());
                }
            }
        }
    }

    /// <summary>Makes <paramref name="leaderId"/> the leader with the given ISR (bumping both epochs), as a controller's election.</summary>
    public void ElectLeader(string topicName, int partitionIndex, int leaderId, IReadOnlyList<int> isr)
    {
        TopicMetadata old;
        TopicMetadata updated;
        lock (_lock)
        {
            old = _topics[topicName];
            var current = old.Partitions[partitionIndex];
            updated = Replace(old, current with
            {
                LeaderId = leaderId,
                LeaderEpoch = current.LeaderEpoch + 1,
                PartitionEpoch = current.PartitionEpoch + 1,
                Isr = isr.ToArray(),
            });
        }

        Publish(old, updated);
    }

    public async Task<Node> StartNodeAsync(int nodeId)
    {
        var node = new Node(this, nodeId, Path.Combine(_root.Path, $"node-{nodeId}"), _overrides, _ports.GetValueOrDefault(nodeId));
        await node.StartAsync();
        _ports[nodeId] = node.Port;
        _nodes[nodeId] = node;
        foreach (var topic in Topics)
        {
            node.ReplicaManager.ApplyTopic(topic);
        }

        return node;
    }

    private static TopicMetadata Replace(TopicMetadata topic, PartitionMetadata partition) =>
        topic with { Partitions = topic.Partitions.Select(p => p.PartitionIndex == partition.PartitionIndex ? partition : p).ToArray() };

    private void Publish(TopicMetadata? old, TopicMetadata updated)
    {
        lock (_lock)
        {
            _topics[updated.Name] = updated;
        }

        foreach (var node in _nodes.Values)
        {
            node.ReplicaManager.ApplyTopic(updated);
        }

        TopicsChanged?.Invoke(old, updated);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
        _root.Dispose();
    }

    /// <summary>One broker of the cluster.</summary>
    internal sealed class Node : IAsyncDisposable
    {
        private readonly ReplicationCluster _cluster;
        private readonly Dictionary<string, string> _properties;
        private LogManager? _logManager;
        private SocketServer? _socketServer;
        private NodeClientPool? _clients;
        private TransactionCoordinator? _transactions;

        public Node(ReplicationCluster cluster, int nodeId, string dataDirectory, IReadOnlyDictionary<string, string> overrides, int port)
        {
            _cluster = cluster;
            NodeId = nodeId;
            DataDirectory = dataDirectory;
            _properties = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["node.id"] = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["listeners"] = $"PLAINTEXT://127.0.0.1:{port}",
                ["log.dirs"] = dataDirectory,
                ["group.initial.rebalance.delay.ms"] = "0",
                ["replica.fetch.wait.max.ms"] = "100",
                ["replica.fetch.backoff.ms"] = "100",
                ["replica.lag.time.max.ms"] = "2000",
                ["replica.socket.timeout.ms"] = "3000",
            };
            foreach (var (key, value) in overrides)
            {
                _properties[key] = value;
            }
        }

        public int NodeId { get; }

        public string DataDirectory { get; }

        public int Port { get; private set; }

        public ReplicaManager ReplicaManager { get; private set; } = null!;

        public Log Log(string topic, int partition) => _logManager!.GetLog(topic, partition) ?? throw new InvalidOperationException($"No log {topic}-{partition} on node {NodeId}.");

        public async Task StartAsync()
        {
            var loggerFactory = CreateLoggerFactory();
            var time = TimeProvider.System;
            var config = new BrokerConfig(_properties);
            var settings = BrokerConfigDescriber.ToSettings(config, _properties);
            var logManager = _logManager = new LogManager(
                new LogManagerOptions { LogDirs = config.LogDirs, NodeId = NodeId, BrokerProperties = _properties, ClusterId = _cluster.ClusterId },
                time,
                loggerFactory);
            logManager.Startup();
            var replicaManager = ReplicaManager = new ReplicaManager(NodeId, logManager, _properties, time, loggerFactory.CreateLogger<ReplicaManager>());
            _clients = new NodeClientPool($"gregor-broker-{NodeId}", TimeSpan.FromSeconds(2));
            replicaManager.EnableReplication(new ReplicationSettings
            {
                Metadata = _cluster,
                InterBrokerListenerName = "PLAINTEXT",
                AlterPartition = _cluster,
                Clients = _clients,
            });

            var producerIds = new ProducerIdManager(config.LogDirs[0]);
            var transactions = _transactions = new TransactionCoordinator(producerIds, replicaManager, time,
                loggerFactory.CreateLogger<TransactionCoordinator>(), config.GetInt("transaction.max.timeout.ms"),
                config.GetInt("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
                new ReplicaTransactionStateLog(replicaManager, _cluster, new TopicCreator(_cluster, _cluster, settings), time,
                    config.GetInt("transaction.state.log.num.partitions"), checked((short)config.GetInt("transaction.state.log.replication.factor")),
                    config.GetInt("transaction.state.log.segment.bytes")));
            var broker = new BrokerContext(settings, _cluster, _cluster, replicaManager, time, loggerFactory, new BrokerConfigDescriber(config))
            {
                ProducerIds = producerIds,
                Transactions = transactions,
            };
            var dispatcher = new RequestDispatcher(BrokerHandlers.Create(broker), loggerFactory.CreateLogger<RequestDispatcher>());
            var socketServer = _socketServer = new SocketServer(config.ToNetworkOptions(), dispatcher, loggerFactory, time);
            await socketServer.StartAsync();
            Port = socketServer.BoundEndpoints["PLAINTEXT"][0].Port;
        }

        public async ValueTask DisposeAsync()
        {
            ReplicaManager?.WakeAllWaiters();
            if (_socketServer is not null)
            {
                await _socketServer.StopAsync();
                await _socketServer.DisposeAsync();
                _socketServer = null;
            }

            _transactions?.Dispose();
            ReplicaManager?.Dispose();
            if (_clients is not null)
            {
                await _clients.DisposeAsync();
                _clients = null;
            }

            _logManager?.Shutdown();
            _logManager = null;
        }

        private static ILoggerFactory CreateLoggerFactory()
        {
            var level = Environment.GetEnvironmentVariable("GREGOR_TEST_LOG");
            if (string.IsNullOrEmpty(level) || !Enum.TryParse<LogLevel>(level, ignoreCase: true, out var minimum))
            {
                return NullLoggerFactory.Instance;
            }

            return LoggerFactory.Create(builder => builder.SetMinimumLevel(minimum).AddSimpleConsole(o => o.SingleLine = true));
        }
    }
}
