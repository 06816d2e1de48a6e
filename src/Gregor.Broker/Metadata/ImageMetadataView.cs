using System.Collections.Frozen;
using Gregor.Metadata.Controller;
using Gregor.Metadata.Image;
using Gregor.Protocol;

namespace Gregor.Broker.Metadata;

/// <summary>
/// <see cref="IMetadataView"/> and <see cref="ITopicMetadataWriter"/> over the KRaft metadata image
/// and the active controller (issue 5), the replacement for <see cref="TopicMetadataStore"/>.
/// Handlers keep their synchronous writer: on the quorum of one a controller write completes as
/// soon as the entry is on local disk. On a node that is not the active controller topic creation
/// (internal topics, auto-creation) goes to the active controller through <see cref="RemoteCreateTopic"/>
/// and returns once this node's image has the new topic.
/// </summary>
public sealed class ImageMetadataView : IMetadataView, ITopicMetadataWriter
{
    private readonly QuorumController _controller;
    private readonly Lock _publishLock = new();
    private Converted _current;
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ImageMetadataView(QuorumController controller, string clusterId)
    {
        _controller = controller;
        ClusterId = clusterId;
        _current = Converted.From(controller.CatchUp(), null);
        controller.ImageChanged += Publish;
    }

    public string ClusterId { get; }

    /// <summary>
    /// The active controller when it is an alive broker (a combined node); otherwise, as KRaft
    /// brokers do (KIP-590), an alive broker that forwards controller requests to it.
    /// </summary>
    public int ControllerId
    {
        get
        {
            var active = _controller.ActiveControllerId ?? -1;
            var brokers = AliveBrokers;
            return active < 0 || brokers.Count == 0 || brokers.Any(b => b.NodeId == active) ? active : brokers.Min(b => b.NodeId);
        }
    }

    public IReadOnlyList<BrokerNode> AliveBrokers => Volatile.Read(ref _current).Brokers;

    public IReadOnlyCollection<TopicMetadata> Topics => Volatile.Read(ref _current).ByName.Values;

    public event Action<TopicMetadata?, TopicMetadata?>? TopicsChanged;

    /// <summary>The offset of the metadata image this view publishes.</summary>
    public long ImageOffset => Volatile.Read(ref _current).Offset;

    /// <summary>Creates a topic on the active controller when it is another node (set in a cluster).</summary>
    public Func<string, IReadOnlyList<IReadOnlyList<int>>, IReadOnlyDictionary<string, string>, CancellationToken, Task<(ErrorCode ErrorCode, string? Message, Uuid TopicId)>>? RemoteCreateTopic { get; set; }

    /// <summary>How long a remote creation waits for the new topic to reach this node's image.</summary>
    public TimeSpan RemoteCreateTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool TryGetTopic(string name, out TopicMetadata topic) =>
        Volatile.Read(ref _current).ByName.TryGetValue(name, out topic!);

    public bool TryGetTopic(Uuid topicId, out TopicMetadata topic) =>
        Volatile.Read(ref _current).ById.TryGetValue(topicId, out topic!);

    public TopicMetadata CreateTopic(string name, IReadOnlyList<IReadOnlyList<int>> replicaAssignment, IReadOnlyDictionary<string, string> configs)
    {
        if (!_controller.IsActive && RemoteCreateTopic is { } remote)
        {
            return CreateTopicRemotely(remote, name, replicaAssignment, configs);
        }

        var result = _controller
            .CreateTopicsAsync([new CreatableTopic(name, Assignments: replicaAssignment, Configs: configs)], CancellationToken.None)
            .GetAwaiter().GetResult()[0];
        if (result.ErrorCode != ErrorCode.None)
        {
            throw new TopicMetadataException(result.ErrorCode, result.ErrorMessage ?? result.ErrorCode.ToString());
        }

        Publish(_controller.Image);
        return Volatile.Read(ref _current).ById[result.TopicId];
    }

    public TopicMetadata? DeleteTopic(string name)
    {
        if (!TryGetTopic(name, out var existing))
        {
            return null;
        }

        var (_, error) = _controller.DeleteTopicsAsync([name], CancellationToken.None).GetAwaiter().GetResult()[0];
        if (error == ErrorCode.UnknownTopicOrPartition)
        {
            return null;
        }

        if (error != ErrorCode.None)
        {
            throw new TopicMetadataException(error, $"Topic '{name}' could not be deleted: {error}.");
        }

        Publish(_controller.Image);
        return existing;
    }

    public TopicMetadata AlterTopicConfigs(string name, IReadOnlyDictionary<string, string> configs)
    {
        if (!TryGetTopic(name, out var existing))
        {
            throw new TopicMetadataException(ErrorCode.UnknownTopicOrPartition, $"Topic '{name}' does not exist.");
        }

        // The writer replaces the whole set; the metadata log records only what changed.
        var changes = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in configs)
        {
            if (!existing.Configs.TryGetValue(key, out var old) || old != value)
            {
                changes[key] = value;
            }
        }

        foreach (var key in existing.Configs.Keys.Where(k => !configs.ContainsKey(k)))
        {
            changes[key] = null;
        }

        var error = _controller
            .AlterConfigsAsync(new ConfigResource(ConfigResourceType.Topic, name), changes, CancellationToken.None)
            .GetAwaiter().GetResult();
        return Updated(name, error, null);
    }

    public TopicMetadata AddPartitions(string name, IReadOnlyList<IReadOnlyList<int>> newReplicaAssignment)
    {
        var (error, message) = _controller.CreatePartitionsAsync(name, newReplicaAssignment, CancellationToken.None).GetAwaiter().GetResult();
        return Updated(name, error, message);
    }

    private TopicMetadata CreateTopicRemotely(
        Func<string, IReadOnlyList<IReadOnlyList<int>>, IReadOnlyDictionary<string, string>, CancellationToken, Task<(ErrorCode ErrorCode, string? Message, Uuid TopicId)>> remote,
        string name,
        IReadOnlyList<IReadOnlyList<int>> replicaAssignment,
        IReadOnlyDictionary<string, string> configs)
    {
        using var cts = new CancellationTokenSource(RemoteCreateTimeout);
        var (error, message, topicId) = remote(name, replicaAssignment, configs, cts.Token).GetAwaiter().GetResult();
        if (error == ErrorCode.TopicAlreadyExists)
        {
            // Another broker created it a moment ago: callers look again, so let this image have it first.
            WaitForPublish(() => TryGetTopic(name, out _), cts.Token);
        }

        if (error != ErrorCode.None)
        {
            throw new TopicMetadataException(error, message ?? error.ToString());
        }

        if (!WaitForPublish(() => TryGetTopic(topicId, out _), cts.Token) || !TryGetTopic(topicId, out var topic))
        {
            throw new TopicMetadataException(ErrorCode.RequestTimedOut, $"Topic '{name}' was created but has not reached this broker's metadata yet.");
        }

        return topic;
    }

    /// <summary>Waits until <paramref name="condition"/> holds after some publication; false when cancelled first.</summary>
    private bool WaitForPublish(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var published = Volatile.Read(ref _published).Task;
            if (condition())
            {
                return true;
            }

            try
            {
                published.WaitAsync(cancellationToken).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    private TopicMetadata Updated(string name, ErrorCode error, string? message)
    {
        if (error != ErrorCode.None)
        {
            throw new TopicMetadataException(error, message ?? $"Topic '{name}': {error}.");
        }

        Publish(_controller.Image);
        return Volatile.Read(ref _current).ByName[name];
    }

    /// <summary>Converts a newer image and tells listeners which topics went, came or changed.</summary>
    private void Publish(MetadataImage image)
    {
        var changes = new List<(TopicMetadata?, TopicMetadata?)>();
        lock (_publishLock)
        {
            var previous = _current;
            if (image.Offset <= previous.Offset)
            {
                return;
            }

            var next = Converted.From(image, previous);
            foreach (var (name, old) in previous.ByName)
            {
                if (!next.ByName.TryGetValue(name, out var now))
                {
                    changes.Add((old, null));
                }
                else if (!ReferenceEquals(old, now))
                {
                    changes.Add((old, now));
                }
            }

            foreach (var (name, now) in next.ByName)
            {
                if (!previous.ByName.ContainsKey(name))
                {
                    changes.Add((null, now));
                }
            }

            Volatile.Write(ref _current, next);
        }

        Interlocked.Exchange(ref _published, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        foreach (var (removed, added) in changes)
        {
            TopicsChanged?.Invoke(removed, added);
        }
    }

    private sealed record Converted(
        long Offset,
        MetadataImage Image,
        FrozenDictionary<string, TopicMetadata> ByName,
        FrozenDictionary<Uuid, TopicMetadata> ById,
        IReadOnlyList<BrokerNode> Brokers)
    {
        public static Converted From(MetadataImage image, Converted? previous)
        {
            var topics = new List<TopicMetadata>(image.TopicsByName.Count);
            foreach (var topic in image.TopicsByName.Values)
            {
                var configs = image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, topic.Name));

                // Unchanged topics keep their instance, so listeners only hear about real changes.
                if (previous is not null
                    && previous.Image.TopicsByName.TryGetValue(topic.Name, out var before)
                    && ReferenceEquals(before, topic)
                    && ReferenceEquals(previous.Image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, topic.Name)), configs))
                {
                    topics.Add(previous.ByName[topic.Name]);
                    continue;
                }

                var partitions = topic.Partitions
                    .Select(p => new PartitionMetadata(p.Key, p.Value.Leader, p.Value.LeaderEpoch, p.Value.PartitionEpoch, p.Value.Replicas.ToArray(), p.Value.Isr.ToArray()))
                    .ToArray();
                topics.Add(new TopicMetadata(topic.Name, topic.Id, partitions, new Dictionary<string, string>(configs, StringComparer.Ordinal)));
            }

            var brokers = image.Brokers.Values
                .Where(b => !b.Fenced)
                .Select(b => new BrokerNode(b.Id, b.Rack, [.. b.Endpoints.Select(e => new Gregor.Broker.Metadata.BrokerEndpoint(e.Name, e.Host, e.Port))]))
                .ToArray();
            return new Converted(
                image.Offset,
                image,
                topics.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal),
                topics.ToFrozenDictionary(t => t.TopicId),
                brokers);
        }
    }
}
