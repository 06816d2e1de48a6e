using Gregor.Protocol;

namespace Gregor.Coordinator;

/// <summary>A topic as the group coordinator needs it: KIP-848 assignments name topics by id.</summary>
public readonly record struct TopicInfo(Uuid TopicId, string Name, int PartitionCount);

/// <summary>The broker's view of its topics, as seen by the group coordinator.</summary>
public interface ITopicMetadataSource
{
    bool TryGetTopic(string name, out TopicInfo topic);

    bool TryGetTopic(Uuid topicId, out TopicInfo topic);

    /// <summary>Every topic, for regular-expression subscriptions (KIP-848).</summary>
    IReadOnlyList<TopicInfo> AllTopics();
}

/// <summary>A fixed set of topics, for tests and tools.</summary>
public sealed class StaticTopicMetadataSource : ITopicMetadataSource
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TopicInfo> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Uuid, TopicInfo> _byId = [];

    public void AddOrUpdate(TopicInfo topic)
    {
        lock (_lock)
        {
            _byName[topic.Name] = topic;
            _byId[topic.TopicId] = topic;
        }
    }

    public bool TryGetTopic(string name, out TopicInfo topic)
    {
        lock (_lock)
        {
            return _byName.TryGetValue(name, out topic);
        }
    }

    public bool TryGetTopic(Uuid topicId, out TopicInfo topic)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(topicId, out topic);
        }
    }

    public IReadOnlyList<TopicInfo> AllTopics()
    {
        lock (_lock)
        {
            return [.. _byName.Values];
        }
    }
}
