using Gregor.Metadata.Image;
using Gregor.Metadata.Records;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Metadata.Controller;

/// <summary>
/// Partition leadership and ISR changes on the active controller: AlterPartition from partition
/// leaders (KIP-497, partition epochs from KIP-841), preferred and unclean leader election
/// (ElectLeaders, KIP-460), automatic preferred-leader balancing, and the one-time import of a
/// single node's older topic metadata file.
/// </summary>
public sealed partial class QuorumController
{
    private ITimer? _rebalanceTimer;
    private int _rebalanceRunning;

    /// <summary>
    /// A leader's ISR change. Validated as KRaft does: the broker epoch (STALE_BROKER_EPOCH),
    /// the leader epoch (FENCED_LEADER_EPOCH), the sender is the leader (INVALID_REQUEST), the
    /// partition epoch (INVALID_UPDATE_VERSION), the ISR within the replicas and holding the leader
    /// (INVALID_REQUEST), only unfenced brokers joining (INELIGIBLE_REPLICA).
    /// </summary>
    public async Task<AlterPartitionResult> AlterPartitionAsync(
        int brokerId, long brokerEpoch, Uuid topicId, int partitionIndex, int leaderEpoch, int partitionEpoch, IReadOnlyList<int> newIsr, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                if (brokerEpoch != -1 && CheckBrokerEpoch(image, brokerId, brokerEpoch) is var epochError && epochError != ErrorCode.None)
                {
                    return ([], AlterPartitionResult.Failed(epochError));
                }

                if (!image.TryGetTopic(topicId, out var topic))
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.UnknownTopicId));
                }

                if (!topic.Partitions.TryGetValue(partitionIndex, out var partition))
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.UnknownTopicOrPartition));
                }

                if (leaderEpoch != partition.LeaderEpoch)
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.FencedLeaderEpoch));
                }

                if (partition.Leader != brokerId)
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.InvalidRequest));
                }

                if (partitionEpoch != partition.PartitionEpoch)
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.InvalidUpdateVersion));
                }

                if (newIsr.Count == 0 || newIsr.Distinct().Count() != newIsr.Count || newIsr.Any(b => !partition.Replicas.Contains(b)) || !newIsr.Contains(brokerId))
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.InvalidRequest));
                }

                var usable = UsableBrokers(image);
                if (newIsr.Any(b => !partition.IsrContains(b) && !usable.Contains(b)))
                {
                    return ([], AlterPartitionResult.Failed(ErrorCode.IneligibleReplica));
                }

                if (newIsr.Order().SequenceEqual(partition.Isr.Order()))
                {
                    return ([], new AlterPartitionResult(ErrorCode.None, partition));
                }

                var change = new PartitionChangeRecord { TopicId = topicId, PartitionId = partitionIndex, Isr = [.. newIsr] };
                return ([MetadataRecord.Of(change)], new AlterPartitionResult(ErrorCode.None, partition.Merge(change)));
            },
            AlterPartitionResult.Failed,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// ElectLeaders: preferred (the first replica, when in the ISR and usable; ELECTION_NOT_NEEDED
    /// when it leads already, PREFERRED_LEADER_NOT_AVAILABLE otherwise) or unclean (only for a
    /// leaderless partition; from the ISR when possible, else any usable replica if the topic's
    /// <c>unclean.leader.election.enable</c> allows it, else ELIGIBLE_LEADERS_NOT_AVAILABLE).
    /// Null <paramref name="partitions"/> means every partition (preferred elections only report
    /// the ones that changed, as Kafka does).
    /// </summary>
    public async Task<IReadOnlyList<ElectionResult>> ElectLeadersAsync(
        ElectionType type, IReadOnlyList<(string Topic, int Partition)>? partitions, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var records = new List<MetadataRecord>();
                var results = new List<ElectionResult>();
                var usable = UsableBrokers(image);
                var all = partitions is null;
                var targets = partitions ?? [.. image.TopicsByName.Values.SelectMany(t => t.Partitions.Keys.Select(p => (t.Name, p)))];
                foreach (var (topicName, index) in targets)
                {
                    if (!image.TopicsByName.TryGetValue(topicName, out var topic) || !topic.Partitions.TryGetValue(index, out var partition))
                    {
                        results.Add(new ElectionResult(topicName, index, ErrorCode.UnknownTopicOrPartition, null));
                        continue;
                    }

                    var (error, leader) = type == ElectionType.Preferred
                        ? ElectPreferred(partition, usable)
                        : ElectUnclean(image, topic, partition, usable);
                    if (error == ErrorCode.None)
                    {
                        var change = new PartitionChangeRecord { TopicId = topic.Id, PartitionId = index, Leader = leader };
                        if (!partition.IsrContains(leader))
                        {
                            // An unclean leader starts a new ISR of its own.
                            change.Isr = [leader];
                        }

                        records.Add(MetadataRecord.Of(change));
                    }

                    if (!all || error == ErrorCode.None)
                    {
                        results.Add(new ElectionResult(topicName, index, error, error == ErrorCode.None ? null : ElectionMessage(error, topicName, index)));
                    }
                }

                return (records, (IReadOnlyList<ElectionResult>)results);
            },
            error => (partitions ?? []).Select(p => new ElectionResult(p.Topic, p.Partition, error, null)).ToList(),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts automatic preferred-leader balancing (<c>auto.leader.rebalance.enable</c>) every
    /// <c>leader.imbalance.check.interval.seconds</c> while this node is the active controller.
    /// </summary>
    public void StartLeaderBalancing()
    {
        if (!_options.AutoLeaderRebalanceEnable)
        {
            return;
        }

        _rebalanceTimer ??= _time.CreateTimer(
            static state => ((QuorumController)state!).OnRebalanceCheck(),
            this,
            _options.LeaderImbalanceCheckInterval,
            _options.LeaderImbalanceCheckInterval);
    }

    /// <summary>
    /// Imports topics kept outside the metadata log (a single node's <c>gregor-topics.json</c>
    /// from before the metadata log) with their ids, partitions, epochs and configs. Topics whose
    /// name exists already are skipped. Returns how many were imported.
    /// </summary>
    public async Task<int> ImportTopicsAsync(IReadOnlyList<ImportedTopic> topics, CancellationToken cancellationToken)
    {
        return await WriteAsync(
            image =>
            {
                var records = new List<MetadataRecord>();
                var count = 0;
                foreach (var topic in topics)
                {
                    if (image.TopicsByName.ContainsKey(topic.Name) || image.TopicNamesById.ContainsKey(topic.Id) || topic.Partitions.Count == 0)
                    {
                        continue;
                    }

                    count++;
                    records.Add(MetadataRecord.Of(new TopicRecord { Name = topic.Name, TopicId = topic.Id }));
                    foreach (var p in topic.Partitions)
                    {
                        records.Add(MetadataRecord.Of(new PartitionRecord
                        {
                            PartitionId = p.Index,
                            TopicId = topic.Id,
                            Replicas = [.. p.Replicas],
                            Isr = [.. p.Isr],
                            Leader = p.Leader,
                            LeaderEpoch = p.LeaderEpoch,
                            PartitionEpoch = p.PartitionEpoch,
                        }));
                    }

                    foreach (var (name, value) in topic.Configs.OrderBy(c => c.Key, StringComparer.Ordinal))
                    {
                        records.Add(MetadataRecord.Of(new ConfigRecord
                        {
                            ResourceType = (sbyte)ConfigResourceType.Topic, ResourceName = topic.Name, Name = name, Value = value,
                        }));
                    }
                }

                return (records, count);
            },
            _ => 0,
            cancellationToken).ConfigureAwait(false);
    }

    private void OnRebalanceCheck()
    {
        if (!IsActive || Interlocked.Exchange(ref _rebalanceRunning, 1) != 0)
        {
            return;
        }

        _ = Run();

        async Task Run()
        {
            try
            {
                await ElectLeadersAsync(ElectionType.Preferred, null, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
            }
            finally
            {
                Volatile.Write(ref _rebalanceRunning, 0);
            }
        }
    }

    private static (ErrorCode Error, int Leader) ElectPreferred(PartitionRegistration partition, HashSet<int> usable)
    {
        var preferred = partition.Replicas.Length == 0 ? -1 : partition.Replicas[0];
        if (preferred == partition.Leader)
        {
            return (ErrorCode.ElectionNotNeeded, -1);
        }

        return partition.IsrContains(preferred) && usable.Contains(preferred)
            ? (ErrorCode.None, preferred)
            : (ErrorCode.PreferredLeaderNotAvailable, -1);
    }

    private (ErrorCode Error, int Leader) ElectUnclean(MetadataImage image, TopicImage topic, PartitionRegistration partition, HashSet<int> usable)
    {
        if (partition.Leader != -1)
        {
            return (ErrorCode.ElectionNotNeeded, -1);
        }

        var clean = ElectFromIsr(partition.Replicas, partition.Isr, usable);
        if (clean != -1)
        {
            return (ErrorCode.None, clean);
        }

        var configs = image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, topic.Name));
        var allowed = configs.TryGetValue("unclean.leader.election.enable", out var value)
            ? string.Equals(value.Trim(), "true", StringComparison.OrdinalIgnoreCase)
            : _options.UncleanLeaderElectionEnable;
        var unclean = partition.Replicas.FirstOrDefault(usable.Contains, -1);
        return allowed && unclean != -1 ? (ErrorCode.None, unclean) : (ErrorCode.EligibleLeadersNotAvailable, -1);
    }

    private static string ElectionMessage(ErrorCode error, string topic, int partition) => error switch
    {
        ErrorCode.ElectionNotNeeded => $"Leader election not needed for topic partition {topic}-{partition}.",
        ErrorCode.PreferredLeaderNotAvailable => $"Failed to elect leader for partition {topic}-{partition} under strategy PREFERRED.",
        ErrorCode.EligibleLeadersNotAvailable => $"Failed to elect leader for partition {topic}-{partition} under strategy UNCLEAN.",
        _ => $"{topic}-{partition}: {error}.",
    };
}
