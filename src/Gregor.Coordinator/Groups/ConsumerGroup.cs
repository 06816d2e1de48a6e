using Gregor.Protocol;

namespace Gregor.Coordinator.Groups;

/// <summary>A KIP-848 member's reconciliation state; the numbers are persisted in ConsumerGroupCurrentMemberAssignmentValue.</summary>
public enum MemberState : sbyte
{
    Stable = 0,
    UnrevokedPartitions = 1,
    UnreleasedPartitions = 2,
    Unknown = 127,
}

/// <summary>The states of a KIP-848 consumer group, as ListGroups and ConsumerGroupDescribe name them.</summary>
public enum ConsumerGroupState
{
    Empty,
    Assigning,
    Reconciling,
    Stable,
    Dead,
}

/// <summary>An assignment: topic id → partitions (sorted sets so comparisons and records are deterministic).</summary>
internal sealed class Assignment
{
    public static Assignment Empty => new();

    public Dictionary<Uuid, SortedSet<int>> Partitions { get; } = [];

    public int Count => Partitions.Values.Sum(p => p.Count);

    public void Add(Uuid topicId, int partition)
    {
        if (!Partitions.TryGetValue(topicId, out var set))
        {
            set = [];
            Partitions[topicId] = set;
        }

        set.Add(partition);
    }

    public bool Contains(Uuid topicId, int partition) => Partitions.TryGetValue(topicId, out var set) && set.Contains(partition);

    public IEnumerable<(Uuid TopicId, int Partition)> All()
    {
        foreach (var (topic, set) in Partitions)
        {
            foreach (var p in set)
            {
                yield return (topic, p);
            }
        }
    }

    public static Assignment From(IEnumerable<(Uuid TopicId, int Partition)> partitions)
    {
        var a = new Assignment();
        foreach (var (t, p) in partitions)
        {
            a.Add(t, p);
        }

        return a;
    }

    public static Assignment From(IReadOnlyList<Records.TopicPartitions> topics) =>
        From(topics.SelectMany(t => t.Partitions.Select(p => (t.TopicId, p))));

    public List<Records.TopicPartitions> ToRecord() =>
        [.. Partitions.Where(kv => kv.Value.Count > 0).OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal).Select(kv => new Records.TopicPartitions(kv.Key, [.. kv.Value]))];

    public bool SetEquals(Assignment other) => Count == other.Count && All().All(tp => other.Contains(tp.TopicId, tp.Partition));
}

/// <summary>A member of a KIP-848 consumer group.</summary>
internal sealed class ConsumerGroupMember
{
    public required string MemberId { get; init; }

    public string? InstanceId { get; set; }

    public string? RackId { get; set; }

    public required string ClientId { get; set; }

    public required string ClientHost { get; set; }

    public List<string> SubscribedTopicNames { get; set; } = [];

    public string? SubscribedTopicRegex { get; set; }

    public int RebalanceTimeoutMs { get; set; } = -1;

    public string? ServerAssignor { get; set; }

    public int MemberEpoch { get; set; }

    public int PreviousMemberEpoch { get; set; }

    public MemberState State { get; set; } = MemberState.Stable;

    public Assignment AssignedPartitions { get; set; } = new();

    public Assignment PartitionsPendingRevocation { get; set; } = new();
}

/// <summary>A KIP-848 consumer group: Kafka's <c>ConsumerGroup</c>.</summary>
internal sealed class ConsumerGroup : Group
{
    public ConsumerGroup(string groupId, int partition)
        : base(groupId, partition)
    {
    }

    public override GroupType Type => GroupType.Consumer;

    public int GroupEpoch { get; set; }

    public int AssignmentEpoch { get; set; }

    public Dictionary<string, ConsumerGroupMember> Members { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Assignment> TargetAssignment { get; } = new(StringComparer.Ordinal);

    /// <summary>The partition counts of subscribed topics the target assignment was computed from; a change bumps the group epoch.</summary>
    public Dictionary<Uuid, int> SubscribedTopicPartitionCounts { get; set; } = [];

    public bool IsDeleted { get; set; }

    public override bool IsEmpty => Members.Count == 0;

    public ConsumerGroupState State
    {
        get
        {
            if (IsDeleted)
            {
                return ConsumerGroupState.Dead;
            }

            if (Members.Count == 0)
            {
                return ConsumerGroupState.Empty;
            }

            if (GroupEpoch > AssignmentEpoch)
            {
                return ConsumerGroupState.Assigning;
            }

            foreach (var m in Members.Values)
            {
                if (m.State != MemberState.Stable || m.MemberEpoch != AssignmentEpoch)
                {
                    return ConsumerGroupState.Reconciling;
                }
            }

            return ConsumerGroupState.Stable;
        }
    }

    public override string StateName => State.ToString();

    public override bool IsSubscribedTo(string topic) =>
        Members.Values.Any(m => m.SubscribedTopicNames.Contains(topic) || (m.SubscribedTopicRegex is not null && System.Text.RegularExpressions.Regex.IsMatch(topic, $"^(?:{m.SubscribedTopicRegex})$")));

    /// <summary>The member that owns a partition (assigned or still pending revocation), if any.</summary>
    public string? OwnerOf(Uuid topicId, int partition, string exceptMemberId)
    {
        foreach (var m in Members.Values)
        {
            if (m.MemberId != exceptMemberId && (m.AssignedPartitions.Contains(topicId, partition) || m.PartitionsPendingRevocation.Contains(topicId, partition)))
            {
                return m.MemberId;
            }
        }

        return null;
    }
}
