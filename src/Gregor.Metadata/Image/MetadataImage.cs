using System.Collections.Immutable;
using Gregor.Metadata.Records;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Metadata.Image;

/// <summary>A listener a broker registered (KRaft's BrokerEndpoint).</summary>
public sealed record BrokerEndpoint(string Name, string Host, int Port, short SecurityProtocol);

/// <summary>A registered broker as the metadata log describes it.</summary>
public sealed record BrokerRegistration(
    int Id,
    long Epoch,
    Uuid IncarnationId,
    ImmutableArray<BrokerEndpoint> Endpoints,
    string? Rack,
    bool Fenced,
    bool InControlledShutdown);

/// <summary>A controller and the Kafka-protocol endpoints brokers reach it on (KRaft's RegisterControllerRecord).</summary>
public sealed record ControllerRegistration(int Id, Uuid IncarnationId, ImmutableArray<BrokerEndpoint> Endpoints);

/// <summary>One partition's replicas, ISR, leader and epochs.</summary>
public sealed record PartitionRegistration(
    ImmutableArray<int> Replicas,
    ImmutableArray<int> Isr,
    int Leader,
    int LeaderEpoch,
    int PartitionEpoch)
{
    /// <summary>
    /// Applies a PartitionChangeRecord as KRaft does: the partition epoch bumps on every change, the
    /// leader epoch only when the leader changes (Leader -2 in the record means "unchanged").
    /// </summary>
    public PartitionRegistration Merge(PartitionChangeRecord change)
    {
        var leader = change.Leader == -2 ? Leader : change.Leader;
        return new PartitionRegistration(
            change.Replicas is { } replicas ? [.. replicas] : Replicas,
            change.Isr is { } isr ? [.. isr] : Isr,
            leader,
            leader != Leader ? LeaderEpoch + 1 : LeaderEpoch,
            PartitionEpoch + 1);
    }

    public bool IsrContains(int brokerId) => Isr.Contains(brokerId);
}

/// <summary>A topic and its partitions.</summary>
public sealed record TopicImage(string Name, Uuid Id, ImmutableSortedDictionary<int, PartitionRegistration> Partitions);

/// <summary>Kafka's config resource types as ConfigRecord stores them.</summary>
public enum ConfigResourceType : sbyte
{
    Topic = 2,
    Broker = 4,
}

public readonly record struct ConfigResource(ConfigResourceType Type, string Name);

/// <summary>
/// The cluster metadata at one offset of the metadata log: an immutable value every broker holds
/// and swaps atomically, as KRaft's MetadataImage. Changes go through <see cref="MetadataDelta"/>.
/// </summary>
public sealed class MetadataImage
{
    public static readonly MetadataImage Empty = new(
        -1,
        ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<Uuid, string>.Empty,
        ImmutableSortedDictionary<int, BrokerRegistration>.Empty,
        ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>>.Empty,
        ImmutableSortedDictionary<string, short>.Empty.WithComparers(StringComparer.Ordinal),
        0);

    internal MetadataImage(
        long offset,
        ImmutableSortedDictionary<string, TopicImage> topicsByName,
        ImmutableDictionary<Uuid, string> topicNamesById,
        ImmutableSortedDictionary<int, BrokerRegistration> brokers,
        ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>> configs,
        ImmutableSortedDictionary<string, short> features,
        long nextProducerId,
        ImmutableSortedDictionary<int, ControllerRegistration>? controllers = null)
    {
        Controllers = controllers ?? ImmutableSortedDictionary<int, ControllerRegistration>.Empty;
        Offset = offset;
        TopicsByName = topicsByName;
        TopicNamesById = topicNamesById;
        Brokers = brokers;
        Configs = configs;
        Features = features;
        NextProducerId = nextProducerId;
    }

    /// <summary>The metadata log offset of the last entry applied (-1 for the empty image).</summary>
    public long Offset { get; }

    public ImmutableSortedDictionary<string, TopicImage> TopicsByName { get; }

    public ImmutableDictionary<Uuid, string> TopicNamesById { get; }

    public ImmutableSortedDictionary<int, BrokerRegistration> Brokers { get; }

    /// <summary>Controllers that registered their Kafka-protocol endpoints (needed to reach a controller-only node).</summary>
    public ImmutableSortedDictionary<int, ControllerRegistration> Controllers { get; }

    public ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>> Configs { get; }

    public ImmutableSortedDictionary<string, short> Features { get; }

    /// <summary>The first producer id not yet handed out in a block (ProducerIdsRecord).</summary>
    public long NextProducerId { get; }

    public bool TryGetTopic(Uuid topicId, out TopicImage topic)
    {
        if (TopicNamesById.TryGetValue(topicId, out var name))
        {
            topic = TopicsByName[name];
            return true;
        }

        topic = null!;
        return false;
    }

    public ImmutableSortedDictionary<string, string> ConfigsOf(ConfigResource resource) =>
        Configs.TryGetValue(resource, out var configs) ? configs : ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>
    /// The records that rebuild this image from empty: what a snapshot holds. Order matters on
    /// replay: features, brokers, topics before their partitions and configs, producer ids.
    /// </summary>
    public List<MetadataRecord> ToRecords()
    {
        var records = new List<MetadataRecord>();
        foreach (var (name, level) in Features)
        {
            records.Add(MetadataRecord.Of(new FeatureLevelRecord { Name = name, FeatureLevel = level }));
        }

        foreach (var broker in Brokers.Values)
        {
            records.Add(MetadataRecord.Of(new RegisterBrokerRecord
            {
                BrokerId = broker.Id,
                IncarnationId = broker.IncarnationId,
                BrokerEpoch = broker.Epoch,
                EndPoints = [.. broker.Endpoints.Select(e => new RegisterBrokerRecord.BrokerEndpoint
                {
                    Name = e.Name, Host = e.Host, Port = (ushort)e.Port, SecurityProtocol = e.SecurityProtocol,
                })],
                Rack = broker.Rack,
                Fenced = broker.Fenced,
                InControlledShutdown = broker.InControlledShutdown,
            }));
        }

        foreach (var controller in Controllers.Values)
        {
            records.Add(MetadataRecord.Of(ControllerRecord(controller)));
        }

        foreach (var topic in TopicsByName.Values)
        {
            records.Add(MetadataRecord.Of(new TopicRecord { Name = topic.Name, TopicId = topic.Id }));
            foreach (var (index, partition) in topic.Partitions)
            {
                records.Add(MetadataRecord.Of(new PartitionRecord
                {
                    PartitionId = index,
                    TopicId = topic.Id,
                    Replicas = [.. partition.Replicas],
                    Isr = [.. partition.Isr],
                    Leader = partition.Leader,
                    LeaderEpoch = partition.LeaderEpoch,
                    PartitionEpoch = partition.PartitionEpoch,
                }));
            }
        }

        foreach (var (resource, configs) in Configs.OrderBy(c => c.Key.Type).ThenBy(c => c.Key.Name, StringComparer.Ordinal))
        {
            foreach (var (name, value) in configs)
            {
                records.Add(MetadataRecord.Of(new ConfigRecord
                {
                    ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = name, Value = value,
                }));
            }
        }

        if (NextProducerId > 0)
        {
            records.Add(MetadataRecord.Of(new ProducerIdsRecord { BrokerId = -1, BrokerEpoch = -1, NextProducerId = NextProducerId }));
        }

        return records;
    }

    /// <summary>The record that registers <paramref name="controller"/>.</summary>
    public static RegisterControllerRecord ControllerRecord(ControllerRegistration controller) => new()
    {
        ControllerId = controller.Id,
        IncarnationId = controller.IncarnationId,
        EndPoints = [.. controller.Endpoints.Select(e => new RegisterControllerRecord.ControllerEndpoint
        {
            Name = e.Name, Host = e.Host, Port = (ushort)e.Port, SecurityProtocol = e.SecurityProtocol,
        })],
    };
}
