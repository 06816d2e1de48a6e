using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Metadata.Records;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Metadata.Controller;

/// <summary>
/// The active controller (KRaft's QuorumController): the only writer of the metadata log. Each
/// operation runs alone, reads the image as of everything committed, turns the request into
/// records, appends them as one entry (applied atomically) and returns once they are committed.
/// On a node that is not the quorum's leader every write answers NOT_CONTROLLER.
/// </summary>
public sealed partial class QuorumController : IAsyncDisposable
{
    private const int MaxTopicNameLength = 249;

    private readonly IMetadataQuorum _quorum;
    private readonly QuorumControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _replayLock = new();
    private MetadataImage _image = MetadataImage.Empty;
    private long _bytesSinceSnapshot;

    public QuorumController(IMetadataQuorum quorum, QuorumControllerOptions options, TimeProvider time, Random? random = null)
    {
        _quorum = quorum;
        _options = options;
        _time = time;
        _random = random ?? Random.Shared;
        if (options.SnapshotDirectory is { } snapshots)
        {
            _image = MetadataSnapshot.ReadLatest(snapshots) ?? MetadataImage.Empty;
        }

        _quorum.Committed += OnCommitted;
    }

    /// <summary>The metadata image as of the last committed entry replayed here.</summary>
    public MetadataImage Image => Volatile.Read(ref _image);

    public bool IsActive => _quorum.IsLeader;

    /// <summary>The metadata log this controller replays (served to observers by the brokers).</summary>
    public IMetadataQuorum Quorum => _quorum;

    /// <summary>The node id of the active controller, when the quorum has a leader.</summary>
    public int? ActiveControllerId => _quorum.Leader.LeaderId;

    /// <summary>Raised after the image moves forward (on the replaying thread).</summary>
    public event Action<MetadataImage>? ImageChanged;

    /// <summary>Replays committed entries not yet in the image; safe to call from any thread.</summary>
    public MetadataImage CatchUp()
    {
        MetadataImage image;
        lock (_replayLock)
        {
            image = _image;
            var installed = false;
            if (_quorum.InstalledSnapshot is { } snapshot && snapshot.Offset > image.Offset)
            {
                // An observer that fell behind the log start: the snapshot replaces the image.
                image = snapshot;
                installed = true;
            }

            var entries = _quorum.ReadCommitted(image.Offset + 1);
            if (entries.Count == 0 && !installed)
            {
                return image;
            }

            foreach (var entry in entries)
            {
                var delta = new MetadataDelta(image);
                delta.Replay(MetadataRecordSerde.DeserializeEntry(entry.Payload));
                image = delta.Apply(entry.Offset);
                _bytesSinceSnapshot += entry.Payload.Length;
            }

            Volatile.Write(ref _image, image);
            if (_options.SnapshotDirectory is { } snapshots && entries.Count > 0 && _bytesSinceSnapshot >= _options.MaxBytesBetweenSnapshots)
            {
                // Snapshot first, then drop what it covers: a crash in between only keeps extra log.
                MetadataSnapshot.Write(snapshots, image, entries[^1].Epoch);
                MetadataSnapshot.DeleteOlderThan(snapshots, image.Offset);
                _quorum.DeleteBefore(image.Offset + 1);
                _bytesSinceSnapshot = 0;
            }
        }

        ImageChanged?.Invoke(image);
        return image;
    }

    /// <summary>
    /// On the active controller: waits until everything committed is in <see cref="Image"/> (a
    /// newly elected leader may not have applied its predecessor's last entries yet), so decisions
    /// taken outside the controller (placement from the broker's view) see the whole log.
    /// </summary>
    public async Task<MetadataImage> CatchUpAsync(CancellationToken cancellationToken)
    {
        if (_quorum.IsLeader)
        {
            try
            {
                await _quorum.WaitForCommittedAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NotControllerException)
            {
            }
        }

        return CatchUp();
    }

    public async Task<IReadOnlyList<CreateTopicResult>> CreateTopicsAsync(IReadOnlyList<CreatableTopic> topics, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var results = new List<CreateTopicResult>(topics.Count);
                var records = new List<MetadataRecord>();
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var topic in topics)
                {
                    if (!names.Add(topic.Name))
                    {
                        results.Add(Failed(topic, ErrorCode.InvalidRequest, "Duplicate topic name in the request."));
                        continue;
                    }

                    results.Add(CreateTopic(image, topic, records));
                }

                return (records, results);
            },
            error => topics.Select(t => Failed(t, error, null)).ToList(),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<(string Name, ErrorCode ErrorCode)>> DeleteTopicsAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var results = new List<(string, ErrorCode)>();
                var records = new List<MetadataRecord>();
                var removed = new HashSet<string>(StringComparer.Ordinal);
                foreach (var name in names)
                {
                    if (!image.TopicsByName.TryGetValue(name, out var topic) || !removed.Add(name))
                    {
                        results.Add((name, ErrorCode.UnknownTopicOrPartition));
                        continue;
                    }

                    records.Add(MetadataRecord.Of(new RemoveTopicRecord { TopicId = topic.Id }));
                    results.Add((name, ErrorCode.None));
                }

                return (records, results);
            },
            error => names.Select(n => (n, error)).ToList(),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Appends partitions after a topic's existing ones with the given replicas (CreatePartitions
    /// with assignments); ISR = the usable replicas, leader = the first of them.
    /// </summary>
    public async Task<(ErrorCode ErrorCode, string? ErrorMessage)> CreatePartitionsAsync(
        string topicName, IReadOnlyList<IReadOnlyList<int>> newAssignments, CancellationToken cancellationToken)
    {
        return await WriteAsync<(ErrorCode, string?)>(
            image =>
            {
                if (!image.TopicsByName.TryGetValue(topicName, out var topic))
                {
                    return ([], (ErrorCode.UnknownTopicOrPartition, $"Topic '{topicName}' does not exist."));
                }

                var usable = UsableBrokers(image);
                var records = new List<MetadataRecord>();
                var next = topic.Partitions.Count == 0 ? 0 : topic.Partitions.Keys.Max() + 1;
                foreach (var replicas in newAssignments)
                {
                    if (replicas.Count == 0 || replicas.Distinct().Count() != replicas.Count || replicas.Any(b => !image.Brokers.ContainsKey(b)))
                    {
                        return ([], (ErrorCode.InvalidReplicaAssignment, $"Partition {next} has an empty, duplicated or unregistered replica list."));
                    }

                    var isr = replicas.Where(usable.Contains).ToList();
                    if (isr.Count == 0)
                    {
                        return ([], (ErrorCode.InvalidReplicaAssignment, $"All brokers specified for partition {next} are fenced or in controlled shutdown."));
                    }

                    records.Add(MetadataRecord.Of(new PartitionRecord
                    {
                        PartitionId = next++, TopicId = topic.Id, Replicas = [.. replicas], Isr = isr, Leader = isr[0], LeaderEpoch = 0, PartitionEpoch = 0,
                    }));
                }

                return (records, (ErrorCode.None, null));
            },
            error => (error, null),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets (non-null value) or deletes (null) configs of a topic or broker, as
    /// IncrementalAlterConfigs SET/DELETE. A topic must exist.
    /// </summary>
    public async Task<ErrorCode> AlterConfigsAsync(ConfigResource resource, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                if (resource.Type == ConfigResourceType.Topic && !image.TopicsByName.ContainsKey(resource.Name))
                {
                    return ([], ErrorCode.UnknownTopicOrPartition);
                }

                var records = changes
                    .OrderBy(c => c.Key, StringComparer.Ordinal)
                    .Select(c => MetadataRecord.Of(new ConfigRecord
                    {
                        ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = c.Key, Value = c.Value,
                    }))
                    .ToList();
                return (records, ErrorCode.None);
            },
            error => error,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a controller's Kafka-protocol endpoints (KRaft's RegisterControllerRecord), so brokers
    /// can reach the active controller even when it is not a broker itself. Written only when the
    /// registration changed (a new process, new endpoints).
    /// </summary>
    public async Task<ErrorCode> RegisterControllerAsync(ControllerRegistration registration, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                if (image.Controllers.TryGetValue(registration.Id, out var existing) && existing.IncarnationId == registration.IncarnationId
                    && existing.Endpoints.SequenceEqual(registration.Endpoints))
                {
                    return ([], ErrorCode.None);
                }

                return ([MetadataRecord.Of(MetadataImage.ControllerRecord(registration))], ErrorCode.None);
            },
            error => error,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Hands out the next block of producer ids (AllocateProducerIds, KIP-730).</summary>
    public async Task<ProducerIdBlock> AllocateProducerIdsAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var error = CheckBrokerEpoch(image, brokerId, brokerEpoch);
                if (error != ErrorCode.None)
                {
                    return ([], new ProducerIdBlock(error, -1, 0));
                }

                var first = image.NextProducerId;
                var record = MetadataRecord.Of(new ProducerIdsRecord
                {
                    BrokerId = brokerId, BrokerEpoch = brokerEpoch, NextProducerId = first + _options.ProducerIdBlockSize,
                });
                return ([record], new ProducerIdBlock(ErrorCode.None, first, _options.ProducerIdBlockSize));
            },
            error => new ProducerIdBlock(error, -1, 0),
            cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _quorum.Committed -= OnCommitted;
        _sessionTimer?.Dispose();
        _rebalanceTimer?.Dispose();
        _writeLock.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Runs one controller operation: <paramref name="generate"/> sees the caught-up image and
    /// returns the records to append (possibly none) with its result.
    /// </summary>
    private async Task<T> WriteAsync<T>(
        Func<MetadataImage, (List<MetadataRecord> Records, T Result)> generate,
        Func<ErrorCode, T> failed,
        CancellationToken cancellationToken)
    {
        if (!_quorum.IsLeader)
        {
            return failed(ErrorCode.NotController);
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            try
            {
                await _quorum.WaitForCommittedAsync(cancellationToken).ConfigureAwait(false);
                var (records, result) = generate(CatchUp());
                if (records.Count == 0)
                {
                    return result;
                }

                await _quorum.AppendAsync(MetadataRecordSerde.SerializeEntry(records), cancellationToken).ConfigureAwait(false);
                CatchUp();
                return result;
            }
            catch (NotControllerException)
            {
                return failed(ErrorCode.NotController);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void OnCommitted(long highWatermark) => CatchUp();

    private CreateTopicResult CreateTopic(MetadataImage image, CreatableTopic topic, List<MetadataRecord> records)
    {
        if (ValidateName(topic.Name) is { } invalid)
        {
            return Failed(topic, ErrorCode.InvalidTopicException, invalid);
        }

        if (image.TopicsByName.ContainsKey(topic.Name))
        {
            return Failed(topic, ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists.");
        }

        // '.' and '_' are the same character in Kafka's metric names, so such names may not coexist.
        var unified = topic.Name.Replace('.', '_');
        if (image.TopicsByName.Keys.FirstOrDefault(n => n.Replace('.', '_') == unified) is { } colliding)
        {
            return Failed(topic, ErrorCode.InvalidTopicException, $"Topic '{topic.Name}' collides with existing topic: {colliding}");
        }

        var usable = UsableBrokers(image);
        List<int[]> assignment;
        if (topic.Assignments is { Count: > 0 } manual)
        {
            if (topic.NumPartitions != -1 || topic.ReplicationFactor != -1)
            {
                return Failed(topic, ErrorCode.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
            }

            assignment = [];
            for (var p = 0; p < manual.Count; p++)
            {
                var replicas = manual[p];
                if (replicas.Count == 0 || replicas.Distinct().Count() != replicas.Count)
                {
                    return Failed(topic, ErrorCode.InvalidReplicaAssignment, $"Partition {p} has an empty or duplicated replica list.");
                }

                if (replicas.FirstOrDefault(b => !image.Brokers.ContainsKey(b), -1) is var unknown && unknown != -1)
                {
                    return Failed(topic, ErrorCode.InvalidReplicaAssignment, $"The manual partition assignment includes broker {unknown}, but no such broker is registered.");
                }

                if (!replicas.Any(usable.Contains))
                {
                    return Failed(topic, ErrorCode.InvalidReplicaAssignment, $"All brokers specified in the manual partition assignment for partition {p} are fenced or in controlled shutdown.");
                }

                assignment.Add([.. replicas]);
            }
        }
        else
        {
            var partitions = topic.NumPartitions == -1 ? _options.DefaultNumPartitions : topic.NumPartitions;
            var replicationFactor = topic.ReplicationFactor == -1 ? _options.DefaultReplicationFactor : topic.ReplicationFactor;
            if (partitions <= 0)
            {
                return Failed(topic, ErrorCode.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.");
            }

            if (replicationFactor <= 0)
            {
                return Failed(topic, ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.");
            }

            if (replicationFactor > usable.Count)
            {
                return Failed(topic, ErrorCode.InvalidReplicationFactor,
                    $"Unable to replicate the partition {replicationFactor} time(s): The target replication factor of {replicationFactor} cannot be reached because only {usable.Count} broker(s) are registered.");
            }

            assignment = ReplicaPlacement.AssignRackUnaware(usable, partitions, replicationFactor, _random.Next(usable.Count), _random.Next(usable.Count));
        }

        var topicId = Uuid.NewRandom();
        records.Add(MetadataRecord.Of(new TopicRecord { Name = topic.Name, TopicId = topicId }));
        for (var p = 0; p < assignment.Count; p++)
        {
            var replicas = assignment[p];
            var isr = replicas.Where(usable.Contains).ToList();
            records.Add(MetadataRecord.Of(new PartitionRecord
            {
                PartitionId = p,
                TopicId = topicId,
                Replicas = [.. replicas],
                Isr = isr,
                Leader = isr[0],
                LeaderEpoch = 0,
                PartitionEpoch = 0,
            }));
        }

        if (topic.Configs is { } configs)
        {
            foreach (var (name, value) in configs.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                records.Add(MetadataRecord.Of(new ConfigRecord
                {
                    ResourceType = (sbyte)ConfigResourceType.Topic, ResourceName = topic.Name, Name = name, Value = value,
                }));
            }
        }

        return new CreateTopicResult(topic.Name, ErrorCode.None, null, topicId, assignment.Count, (short)assignment[0].Length);
    }

    private static CreateTopicResult Failed(CreatableTopic topic, ErrorCode error, string? message) =>
        new(topic.Name, error, message, Uuid.Zero, -1, -1);

    /// <summary>Brokers that may lead and join ISRs: registered, unfenced, not shutting down.</summary>
    private static HashSet<int> UsableBrokers(MetadataImage image) =>
        image.Brokers.Values.Where(b => !b.Fenced && !b.InControlledShutdown).Select(b => b.Id).ToHashSet();

    private static string? ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or ".." || name.Length > MaxTopicNameLength)
        {
            return $"Topic name \"{name}\" is illegal.";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
            }
        }

        return null;
    }
}
