using System.Collections.Frozen;
using System.Text.Json;
using Gregor.Protocol;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Metadata;

/// <summary>
/// The cluster's topics until the KRaft metadata log exists: a small JSON file in the first log
/// dir, rewritten atomically (temp file, fsync, rename) on every change and read back at start-up.
/// Readers see immutable snapshots, so handlers never take a lock.
/// </summary>
public sealed class TopicMetadataStore : IMetadataView, ITopicMetadataWriter
{
    public const string FileName = "gregor-topics.json";
    private const int FormatVersion = 1;

    private readonly string _path;
    private readonly Lock _writeLock = new();
    private readonly ILogger _logger;
    private volatile Snapshot _snapshot = Snapshot.Empty;
    private volatile IReadOnlyList<BrokerNode> _brokers = [];

    public TopicMetadataStore(string metadataDirectory, string clusterId, int nodeId, ILogger<TopicMetadataStore>? logger = null)
    {
        _path = Path.Combine(metadataDirectory, FileName);
        ClusterId = clusterId;
        NodeId = nodeId;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    public string ClusterId { get; }

    public int NodeId { get; }

    public int ControllerId => NodeId;

    public IReadOnlyList<BrokerNode> AliveBrokers => _brokers;

    public IReadOnlyCollection<TopicMetadata> Topics => _snapshot.ByName.Values;

    public event Action<TopicMetadata?, TopicMetadata?>? TopicsChanged;

    /// <summary>Publishes this node's endpoints once the listeners are bound (port 0 becomes the real port).</summary>
    public void SetAliveBrokers(IReadOnlyList<BrokerNode> brokers) => _brokers = brokers;

    public bool TryGetTopic(string name, out TopicMetadata topic) =>
        _snapshot.ByName.TryGetValue(name, out topic!);

    public bool TryGetTopic(Uuid topicId, out TopicMetadata topic) =>
        _snapshot.ById.TryGetValue(topicId, out topic!);

    /// <summary>Reads the file written by a previous run; a missing file means no topics yet.</summary>
    public IReadOnlyCollection<TopicMetadata> Load()
    {
        lock (_writeLock)
        {
            var tmp = _path + ".tmp";
            if (File.Exists(tmp))
            {
                // A crash between writing the temp file and renaming it: the old file is still whole.
                File.Delete(tmp);
            }

            if (!File.Exists(_path))
            {
                _snapshot = Snapshot.Empty;
                return [];
            }

            var topics = Parse(File.ReadAllBytes(_path));
            _snapshot = Snapshot.Create(topics);
            return _snapshot.ByName.Values;
        }
    }

    /// <summary>
    /// Adds topics found on disk but missing from the file (a crash after a partition's log was
    /// created but before the file was rewritten, or logs copied in by hand).
    /// </summary>
    public void Adopt(IEnumerable<TopicMetadata> topics)
    {
        lock (_writeLock)
        {
            var list = new List<TopicMetadata>(_snapshot.ByName.Values);
            var added = false;
            foreach (var topic in topics)
            {
                if (!_snapshot.ByName.ContainsKey(topic.Name))
                {
                    list.Add(topic);
                    added = true;
                }
            }

            if (added)
            {
                Persist(list);
                _snapshot = Snapshot.Create(list);
            }
        }
    }

    public TopicMetadata CreateTopic(string name, IReadOnlyList<IReadOnlyList<int>> replicaAssignment, IReadOnlyDictionary<string, string> configs)
    {
        TopicMetadata created;
        lock (_writeLock)
        {
            var snapshot = _snapshot;
            if (snapshot.ByName.ContainsKey(name))
            {
                throw new TopicMetadataException(ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.");
            }

            var invalid = TopicNames.Validate(name);
            if (invalid is not null)
            {
                throw new TopicMetadataException(ErrorCode.InvalidTopicException, invalid);
            }

            if (snapshot.ByCollisionName.TryGetValue(TopicNames.UnifyCollisionChars(name), out var colliding))
            {
                throw new TopicMetadataException(ErrorCode.InvalidTopicException,
                    $"Topic '{name}' collides with existing topic: {colliding.Name}");
            }

            var partitions = new PartitionMetadata[replicaAssignment.Count];
            for (var i = 0; i < partitions.Length; i++)
            {
                var replicas = replicaAssignment[i].ToArray();
                partitions[i] = new PartitionMetadata(i, replicas[0], LeaderEpoch: 0, PartitionEpoch: 0, replicas, replicas);
            }

            Uuid topicId;
            do
            {
                topicId = Uuid.NewRandom();
            }
            while (snapshot.ById.ContainsKey(topicId));

            created = new TopicMetadata(name, topicId, partitions, new Dictionary<string, string>(configs, StringComparer.Ordinal));
            var list = new List<TopicMetadata>(snapshot.ByName.Values) { created };
            Persist(list);
            _snapshot = Snapshot.Create(list);
        }

        TopicsChanged?.Invoke(null, created);
        return created;
    }

    public TopicMetadata? DeleteTopic(string name)
    {
        TopicMetadata? removed;
        lock (_writeLock)
        {
            var snapshot = _snapshot;
            if (!snapshot.ByName.TryGetValue(name, out removed))
            {
                return null;
            }

            var list = new List<TopicMetadata>(snapshot.ByName.Count);
            foreach (var topic in snapshot.ByName.Values)
            {
                if (!ReferenceEquals(topic, removed))
                {
                    list.Add(topic);
                }
            }

            Persist(list);
            _snapshot = Snapshot.Create(list);
        }

        TopicsChanged?.Invoke(removed, null);
        return removed;
    }

    /// <summary>Replaces a topic's config overrides (AlterConfigs, IncrementalAlterConfigs).</summary>
    public TopicMetadata AlterTopicConfigs(string name, IReadOnlyDictionary<string, string> configs) =>
        Replace(name, old => old with { Configs = new Dictionary<string, string>(configs, StringComparer.Ordinal) });

    /// <summary>Appends partitions with the given replicas (CreatePartitions); existing ones are untouched.</summary>
    public TopicMetadata AddPartitions(string name, IReadOnlyList<IReadOnlyList<int>> newReplicaAssignment) =>
        Replace(name, old =>
        {
            var partitions = old.Partitions.ToList();
            foreach (var replicas in newReplicaAssignment)
            {
                var list = replicas.ToArray();
                partitions.Add(new PartitionMetadata(partitions.Count, list[0], LeaderEpoch: 0, PartitionEpoch: 0, list, list));
            }

            return old with { Partitions = partitions };
        });

    private TopicMetadata Replace(string name, Func<TopicMetadata, TopicMetadata> change)
    {
        TopicMetadata old;
        TopicMetadata updated;
        lock (_writeLock)
        {
            var snapshot = _snapshot;
            if (!snapshot.ByName.TryGetValue(name, out old!))
            {
                throw new TopicMetadataException(ErrorCode.UnknownTopicOrPartition, $"Topic '{name}' does not exist.");
            }

            updated = change(old);
            var list = snapshot.ByName.Values.Select(t => ReferenceEquals(t, old) ? updated : t).ToList();
            Persist(list);
            _snapshot = Snapshot.Create(list);
        }

        TopicsChanged?.Invoke(old, updated);
        return updated;
    }

    private void Persist(List<TopicMetadata> topics)
    {
        var directory = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(directory);
        var tmp = _path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                Write(writer, topics);
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, _path, overwrite: true);
        BrokerLog.TopicMetadataWritten(_logger, _path, topics.Count);
    }

    private static void Write(Utf8JsonWriter writer, List<TopicMetadata> topics)
    {
        writer.WriteStartObject();
        writer.WriteNumber("version", FormatVersion);
        writer.WriteStartArray("topics");
        foreach (var topic in topics)
        {
            writer.WriteStartObject();
            writer.WriteString("name", topic.Name);
            writer.WriteString("topicId", topic.TopicId.ToString());
            writer.WriteStartObject("configs");
            foreach (var (key, value) in topic.Configs)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            writer.WriteStartArray("partitions");
            foreach (var partition in topic.Partitions)
            {
                writer.WriteStartObject();
                writer.WriteNumber("partition", partition.PartitionIndex);
                writer.WriteNumber("leader", partition.LeaderId);
                writer.WriteNumber("leaderEpoch", partition.LeaderEpoch);
                writer.WriteNumber("partitionEpoch", partition.PartitionEpoch);
                WriteInts(writer, "replicas", partition.Replicas);
                WriteInts(writer, "isr", partition.Isr);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteInts(Utf8JsonWriter writer, string name, IReadOnlyList<int> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteNumberValue(value);
        }

        writer.WriteEndArray();
    }

    private List<TopicMetadata> Parse(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var version = root.GetProperty("version").GetInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"{_path}: unsupported format version {version}.");
            }

            var topics = new List<TopicMetadata>();
            foreach (var element in root.GetProperty("topics").EnumerateArray())
            {
                var configs = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var config in element.GetProperty("configs").EnumerateObject())
                {
                    configs[config.Name] = config.Value.GetString() ?? "";
                }

                var partitions = new List<PartitionMetadata>();
                foreach (var p in element.GetProperty("partitions").EnumerateArray())
                {
                    partitions.Add(new PartitionMetadata(
                        p.GetProperty("partition").GetInt32(),
                        p.GetProperty("leader").GetInt32(),
                        p.GetProperty("leaderEpoch").GetInt32(),
                        p.GetProperty("partitionEpoch").GetInt32(),
                        ReadInts(p.GetProperty("replicas")),
                        ReadInts(p.GetProperty("isr"))));
                }

                partitions.Sort((a, b) => a.PartitionIndex.CompareTo(b.PartitionIndex));
                topics.Add(new TopicMetadata(
                    element.GetProperty("name").GetString()!,
                    Uuid.Parse(element.GetProperty("topicId").GetString()!),
                    partitions,
                    configs));
            }

            return topics;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{_path} is corrupt: {e.Message}", e);
        }
    }

    private static int[] ReadInts(JsonElement array)
    {
        var result = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result[i++] = item.GetInt32();
        }

        return result;
    }

    private sealed class Snapshot
    {
        public static readonly Snapshot Empty = Create([]);

        private Snapshot(
            FrozenDictionary<string, TopicMetadata> byName,
            FrozenDictionary<Uuid, TopicMetadata> byId,
            FrozenDictionary<string, TopicMetadata> byCollisionName)
        {
            ByName = byName;
            ById = byId;
            ByCollisionName = byCollisionName;
        }

        public FrozenDictionary<string, TopicMetadata> ByName { get; }

        public FrozenDictionary<Uuid, TopicMetadata> ById { get; }

        public FrozenDictionary<string, TopicMetadata> ByCollisionName { get; }

        public static Snapshot Create(IEnumerable<TopicMetadata> topics)
        {
            var byName = new Dictionary<string, TopicMetadata>(StringComparer.Ordinal);
            var byId = new Dictionary<Uuid, TopicMetadata>();
            var byCollision = new Dictionary<string, TopicMetadata>(StringComparer.Ordinal);
            foreach (var topic in topics)
            {
                byName[topic.Name] = topic;
                byId[topic.TopicId] = topic;
                byCollision[TopicNames.UnifyCollisionChars(topic.Name)] = topic;
            }

            return new Snapshot(byName.ToFrozenDictionary(StringComparer.Ordinal), byId.ToFrozenDictionary(), byCollision.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }
}
