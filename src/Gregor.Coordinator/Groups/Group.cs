using Gregor.Coordinator.Records;

namespace Gregor.Coordinator.Groups;

/// <summary>Which group protocol a group speaks: the classic JoinGroup/SyncGroup protocol or KIP-848's.</summary>
public enum GroupType
{
    Classic,
    Consumer,
}

/// <summary>What classic and consumer groups share: an id, a coordinator partition and committed offsets.</summary>
internal abstract class Group
{
    protected Group(string groupId, int partition)
    {
        GroupId = groupId;
        Partition = partition;
    }

    public string GroupId { get; }

    /// <summary>The <c>__consumer_offsets</c> partition this group's records live in.</summary>
    public int Partition { get; }

    public abstract GroupType Type { get; }

    /// <summary>The state as Kafka names it in ListGroups/DescribeGroups (e.g. <c>Stable</c>, <c>PreparingRebalance</c>).</summary>
    public abstract string StateName { get; }

    public abstract bool IsEmpty { get; }

    public Dictionary<(string Topic, int Partition), OffsetCommitValue> Offsets { get; } = [];

    /// <summary>When the group last changed state, in ms since the epoch; offsets of an empty group expire counting from here (KIP-211).</summary>
    public long CurrentStateTimestamp { get; set; } = -1;

    /// <summary>The topics the group consumes, for OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC) and offset expiry.</summary>
    public abstract bool IsSubscribedTo(string topic);
}
