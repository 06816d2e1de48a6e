using Gregor.Protocol;

namespace Gregor.Coordinator.Groups;

/// <summary>The states of a classic group, as in Kafka's <c>ClassicGroupState</c>.</summary>
public enum ClassicGroupState
{
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// <summary>A member of a classic group.</summary>
internal sealed class ClassicGroupMember
{
    public required string MemberId { get; set; }

    public string? GroupInstanceId { get; init; }

    public required string ClientId { get; set; }

    public required string ClientHost { get; set; }

    public int RebalanceTimeoutMs { get; set; }

    public int SessionTimeoutMs { get; set; }

    public required string ProtocolType { get; set; }

    public required List<GroupProtocol> Protocols { get; set; }

    public byte[] Assignment { get; set; } = [];

    /// <summary>Set while the member's JoinGroup waits for the rebalance to complete.</summary>
    public TaskCompletionSource<JoinGroupResult>? JoinWaiter { get; set; }

    /// <summary>Set while the member's SyncGroup waits for the leader's assignment.</summary>
    public TaskCompletionSource<SyncGroupResult>? SyncWaiter { get; set; }

    public bool IsStatic => GroupInstanceId is not null;

    public bool IsAwaitingJoin => JoinWaiter is not null;

    public byte[]? MetadataFor(string protocolName)
    {
        foreach (var p in Protocols)
        {
            if (p.Name == protocolName)
            {
                return p.Metadata;
            }
        }

        return null;
    }

    public bool SameProtocols(IReadOnlyList<GroupProtocol> other)
    {
        if (other.Count != Protocols.Count)
        {
            return false;
        }

        for (var i = 0; i < other.Count; i++)
        {
            if (other[i].Name != Protocols[i].Name || !other[i].Metadata.AsSpan().SequenceEqual(Protocols[i].Metadata))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A classic (JoinGroup/SyncGroup) group: Kafka's <c>ClassicGroup</c>.</summary>
internal sealed class ClassicGroup : Group
{
    public ClassicGroup(string groupId, int partition)
        : base(groupId, partition)
    {
    }

    public override GroupType Type => GroupType.Classic;

    public ClassicGroupState State { get; private set; } = ClassicGroupState.Empty;

    public override string StateName => State.ToString();

    public override bool IsEmpty => Members.Count == 0 && PendingMembers.Count == 0;

    public int GenerationId { get; set; }

    public string? ProtocolType { get; set; }

    public string? ProtocolName { get; set; }

    public string? LeaderId { get; set; }

    /// <summary>Members in join order: the first to join becomes leader when the old leader is gone.</summary>
    public OrderedDictionary<string, ClassicGroupMember> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>group.instance.id → member id (KIP-345).</summary>
    public Dictionary<string, string> StaticMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>Member ids handed out with MEMBER_ID_REQUIRED that have not rejoined yet (KIP-394).</summary>
    public HashSet<string> PendingMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>Set by the initial-rebalance delay: the join phase ends when it fires, not when everyone is in.</summary>
    public bool InitialDelayActive { get; set; }

    /// <summary>Whether a member joined during the current initial-rebalance delay (so the delay is extended).</summary>
    public bool NewMemberAdded { get; set; }

    public int InitialDelayRemainingMs { get; set; }

    /// <summary>Members that got the current generation's JoinGroup response but have not sent SyncGroup yet.</summary>
    public HashSet<string> PendingSyncMembers { get; } = new(StringComparer.Ordinal);

    public void TransitionTo(ClassicGroupState state, long nowMs)
    {
        State = state;
        CurrentStateTimestamp = nowMs;
    }

    public bool HasAllMembersJoined
    {
        get
        {
            if (PendingMembers.Count > 0)
            {
                return false;
            }

            foreach (var m in Members.Values)
            {
                if (!m.IsAwaitingJoin)
                {
                    return false;
                }
            }

            return true;
        }
    }

    public int MaxRebalanceTimeoutMs
    {
        get
        {
            var max = 0;
            foreach (var m in Members.Values)
            {
                max = Math.Max(max, m.RebalanceTimeoutMs);
            }

            return max;
        }
    }

    /// <summary>Whether a joining member's protocols fit the group (Kafka's <c>supportsProtocols</c>).</summary>
    public bool SupportsProtocols(string protocolType, IReadOnlyList<GroupProtocol> protocols)
    {
        if (Members.Count == 0)
        {
            return !string.IsNullOrEmpty(protocolType) && protocols.Count > 0;
        }

        if (protocolType != ProtocolType)
        {
            return false;
        }

        foreach (var p in protocols)
        {
            if (Members.Values.All(m => m.MetadataFor(p.Name) is not null))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Picks the protocol every member supports that most members list first among those, as Kafka
    /// does (each member votes for its most preferred candidate; ties go to the first candidate seen).
    /// </summary>
    public string? SelectProtocol()
    {
        var members = Members.Values.ToList();
        var candidates = members.Count == 0 ? [] : members[0].Protocols.Select(p => p.Name).Where(name => members.All(m => m.MetadataFor(name) is not null)).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }
        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var m in members)
        {
            var vote = m.Protocols.First(p => candidates.Contains(p.Name)).Name;
            votes[vote] = votes.GetValueOrDefault(vote) + 1;
        }

        var best = candidates[0];
        foreach (var c in candidates)
        {
            if (votes.GetValueOrDefault(c) > votes.GetValueOrDefault(best))
            {
                best = c;
            }
        }

        return best;
    }

    public override bool IsSubscribedTo(string topic)
    {
        if (ProtocolType != "consumer" || ProtocolName is null || Members.Count == 0)
        {
            return false;
        }

        foreach (var m in Members.Values)
        {
            var metadata = m.MetadataFor(ProtocolName);
            if (metadata is not null && ConsumerProtocol.TryReadSubscriptionTopics(metadata, out var topics) && topics.Contains(topic))
            {
                return true;
            }
        }

        return false;
    }
}
