using Gregor.Protocol;

namespace Gregor.Broker.Metadata;

/// <summary>
/// Read side of the cluster metadata: what handlers consult to answer Metadata, route produce and
/// fetch, and describe the cluster. The broker's is <see cref="ImageMetadataView"/> over the KRaft
/// metadata image; <see cref="TopicMetadataStore"/> (the older file-backed store) remains for tests
/// and for importing a lone node's <c>gregor-topics.json</c>.
/// </summary>
public interface IMetadataView
{
    string ClusterId { get; }

    /// <summary>The active controller's node id (this node while the quorum is a single combined node).</summary>
    int ControllerId { get; }

    IReadOnlyList<BrokerNode> AliveBrokers { get; }

    IReadOnlyCollection<TopicMetadata> Topics { get; }

    bool TryGetTopic(string name, out TopicMetadata topic);

    bool TryGetTopic(Uuid topicId, out TopicMetadata topic);
}

/// <summary>A topic that could not be created, with Kafka's error code and message.</summary>
public sealed class TopicMetadataException : Exception
{
    public TopicMetadataException(ErrorCode errorCode, string message)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    public TopicMetadataException()
    {
    }

    public TopicMetadataException(string message)
        : base(message)
    {
    }

    public TopicMetadataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ErrorCode ErrorCode { get; } = ErrorCode.UnknownServerError;
}

/// <summary>
/// Write side of the cluster metadata (the controller's job once the Raft quorum exists). Changes
/// are durable when the call returns, and listeners see them through <see cref="TopicsChanged"/>
/// as (removed, added): (null, new) on create, (old, null) on delete, (old, new) on a change.
/// </summary>
public interface ITopicMetadataWriter
{
    /// <summary>Creates a topic; throws <see cref="TopicMetadataException"/> (e.g. TOPIC_ALREADY_EXISTS).</summary>
    TopicMetadata CreateTopic(string name, IReadOnlyList<IReadOnlyList<int>> replicaAssignment, IReadOnlyDictionary<string, string> configs);

    /// <summary>Removes a topic; returns the removed metadata, or null when it did not exist.</summary>
    TopicMetadata? DeleteTopic(string name);

    /// <summary>Replaces a topic's config overrides; listeners see (old, new).</summary>
    TopicMetadata AlterTopicConfigs(string name, IReadOnlyDictionary<string, string> configs);

    /// <summary>Adds partitions after the existing ones (never removes); listeners see (old, new).</summary>
    TopicMetadata AddPartitions(string name, IReadOnlyList<IReadOnlyList<int>> newReplicaAssignment);

    event Action<TopicMetadata?, TopicMetadata?>? TopicsChanged;
}
