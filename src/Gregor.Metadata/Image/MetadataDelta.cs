using System.Collections.Immutable;
using Gregor.Metadata.Records;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Metadata.Image;

/// <summary>
/// Accumulates metadata records on top of an image and produces the next image, as KRaft's
/// MetadataDelta. Replay is strict: a record that refers to something absent (a partition of an
/// unknown topic, fencing an unknown broker) is a corrupt log, and throws.
/// </summary>
public sealed class MetadataDelta
{
    private readonly ImmutableSortedDictionary<string, TopicImage>.Builder _topicsByName;
    private readonly ImmutableDictionary<Uuid, string>.Builder _topicNamesById;
    private readonly ImmutableSortedDictionary<int, BrokerRegistration>.Builder _brokers;
    private readonly ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>>.Builder _configs;
    private readonly ImmutableSortedDictionary<string, short>.Builder _features;
    private readonly ImmutableSortedDictionary<int, ControllerRegistration>.Builder _controllers;
    private long _nextProducerId;

    public MetadataDelta(MetadataImage image)
    {
        Image = image;
        _topicsByName = image.TopicsByName.ToBuilder();
        _topicNamesById = image.TopicNamesById.ToBuilder();
        _brokers = image.Brokers.ToBuilder();
        _configs = image.Configs.ToBuilder();
        _features = image.Features.ToBuilder();
        _controllers = image.Controllers.ToBuilder();
        _nextProducerId = image.NextProducerId;
    }

    /// <summary>The image this delta started from.</summary>
    public MetadataImage Image { get; }

    public void Replay(IEnumerable<MetadataRecord> records)
    {
        foreach (var record in records)
        {
            Replay(record.Message);
        }
    }

    public void Replay(IKafkaMessage record)
    {
        switch (record)
        {
            case RegisterBrokerRecord r:
                _brokers[r.BrokerId] = new BrokerRegistration(
                    r.BrokerId,
                    r.BrokerEpoch,
                    r.IncarnationId,
                    [.. r.EndPoints.Select(e => new BrokerEndpoint(e.Name, e.Host, e.Port, e.SecurityProtocol))],
                    r.Rack,
                    r.Fenced,
                    r.InControlledShutdown);
                break;
            case FenceBrokerRecord r:
                _brokers[r.Id] = Broker(r.Id, r.Epoch) with { Fenced = true };
                break;
            case UnfenceBrokerRecord r:
                _brokers[r.Id] = Broker(r.Id, r.Epoch) with { Fenced = false, InControlledShutdown = false };
                break;
            case TopicRecord r:
                if (_topicsByName.ContainsKey(r.Name) || _topicNamesById.ContainsKey(r.TopicId))
                {
                    throw new InvalidDataException($"TopicRecord for existing topic {r.Name} ({r.TopicId}).");
                }

                _topicsByName[r.Name] = new TopicImage(r.Name, r.TopicId, ImmutableSortedDictionary<int, PartitionRegistration>.Empty);
                _topicNamesById[r.TopicId] = r.Name;
                break;
            case PartitionRecord r:
            {
                var topic = Topic(r.TopicId);
                var partition = new PartitionRegistration([.. r.Replicas], [.. r.Isr], r.Leader, r.LeaderEpoch, r.PartitionEpoch);
                _topicsByName[topic.Name] = topic with { Partitions = topic.Partitions.SetItem(r.PartitionId, partition) };
                break;
            }

            case PartitionChangeRecord r:
            {
                var topic = Topic(r.TopicId);
                if (!topic.Partitions.TryGetValue(r.PartitionId, out var partition))
                {
                    throw new InvalidDataException($"PartitionChangeRecord for unknown partition {topic.Name}-{r.PartitionId}.");
                }

                _topicsByName[topic.Name] = topic with { Partitions = topic.Partitions.SetItem(r.PartitionId, partition.Merge(r)) };
                break;
            }

            case RemoveTopicRecord r:
            {
                var topic = Topic(r.TopicId);
                _topicsByName.Remove(topic.Name);
                _topicNamesById.Remove(r.TopicId);
                _configs.Remove(new ConfigResource(ConfigResourceType.Topic, topic.Name));
                break;
            }

            case ConfigRecord r:
            {
                var resource = new ConfigResource((ConfigResourceType)r.ResourceType, r.ResourceName);
                var configs = _configs.TryGetValue(resource, out var existing)
                    ? existing
                    : ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
                configs = r.Value is null ? configs.Remove(r.Name) : configs.SetItem(r.Name, r.Value);
                if (configs.IsEmpty)
                {
                    _configs.Remove(resource);
                }
                else
                {
                    _configs[resource] = configs;
                }

                break;
            }

            case FeatureLevelRecord r:
                if (r.FeatureLevel == 0)
                {
                    _features.Remove(r.Name);
                }
                else
                {
                    _features[r.Name] = r.FeatureLevel;
                }

                break;
            case ProducerIdsRecord r:
                if (r.NextProducerId < _nextProducerId)
                {
                    throw new InvalidDataException($"ProducerIdsRecord moves the next producer id back to {r.NextProducerId}.");
                }

                _nextProducerId = r.NextProducerId;
                break;
            case NoOpRecord:
                break;
            case RegisterControllerRecord r:
                _controllers[r.ControllerId] = new ControllerRegistration(
                    r.ControllerId,
                    r.IncarnationId,
                    [.. r.EndPoints.Select(e => new BrokerEndpoint(e.Name, e.Host, e.Port, e.SecurityProtocol))]);
                break;
            default:
                throw new ArgumentException($"{record.GetType().Name} is not a metadata record.", nameof(record));
        }
    }

    /// <summary>The image with every replayed record applied, as of metadata log offset <paramref name="offset"/>.</summary>
    public MetadataImage Apply(long offset) => new(
        offset,
        _topicsByName.ToImmutable(),
        _topicNamesById.ToImmutable(),
        _brokers.ToImmutable(),
        _configs.ToImmutable(),
        _features.ToImmutable(),
        _nextProducerId,
        _controllers.ToImmutable());

    private BrokerRegistration Broker(int id, long epoch)
    {
        if (!_brokers.TryGetValue(id, out var broker) || broker.Epoch != epoch)
        {
            throw new InvalidDataException($"Broker {id} with epoch {epoch} is not registered.");
        }

        return broker;
    }

    private TopicImage Topic(Uuid topicId)
    {
        if (!_topicNamesById.TryGetValue(topicId, out var name))
        {
            throw new InvalidDataException($"Unknown topic id {topicId}.");
        }

        return _topicsByName[name];
    }
}
