using Gregor.Coordinator.Groups;
using Gregor.Protocol;

namespace Gregor.Coordinator.Assignors;

/// <summary>One member as a server-side assignor sees it: what it subscribes to and what it was last given.</summary>
internal sealed record AssignmentMember(string MemberId, IReadOnlySet<Uuid> SubscribedTopicIds, Assignment CurrentTarget);

/// <summary>A KIP-848 server-side assignor (<c>group.consumer.assignors</c>).</summary>
internal interface IPartitionAssignor
{
    string Name { get; }

    Dictionary<string, Assignment> Assign(IReadOnlyList<AssignmentMember> members, IReadOnlyDictionary<Uuid, int> partitionCounts);
}

internal static class PartitionAssignors
{
    public static IPartitionAssignor? ByName(string name) => name switch
    {
        UniformAssignor.AssignorName => new UniformAssignor(),
        RangeAssignor.AssignorName => new RangeAssignor(),
        _ => null,
    };
}

/// <summary>
/// Kafka's <c>uniform</c> assignor in spirit: every partition of a subscribed topic goes to one
/// subscribed member, partition counts differ by at most one between members with the same
/// subscription, and partitions stay where they were whenever balance allows (sticky), so a
/// rebalance moves as few partitions as possible.
/// </summary>
internal sealed class UniformAssignor : IPartitionAssignor
{
    public const string AssignorName = "uniform";

    public string Name => AssignorName;

    public Dictionary<string, Assignment> Assign(IReadOnlyList<AssignmentMember> members, IReadOnlyDictionary<Uuid, int> partitionCounts)
    {
        var ordered = members.OrderBy(m => m.MemberId, StringComparer.Ordinal).ToList();
        var result = ordered.ToDictionary(m => m.MemberId, _ => new Assignment(), StringComparer.Ordinal);
        var counts = ordered.ToDictionary(m => m.MemberId, _ => 0, StringComparer.Ordinal);
        var taken = new HashSet<(Uuid, int)>();

        // Sticky: keep what each member had, while it still subscribes and the partition exists.
        foreach (var m in ordered)
        {
            foreach (var (topic, partition) in m.CurrentTarget.All())
            {
                if (m.SubscribedTopicIds.Contains(topic) && partitionCounts.TryGetValue(topic, out var count) && partition < count && taken.Add((topic, partition)))
                {
                    result[m.MemberId].Add(topic, partition);
                    counts[m.MemberId]++;
                }
            }
        }

        // Hand every free partition to the least loaded member that subscribes to its topic.
        foreach (var (topic, count) in partitionCounts.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal))
        {
            var eligible = ordered.Where(m => m.SubscribedTopicIds.Contains(topic)).ToList();
            if (eligible.Count == 0)
            {
                continue;
            }

            for (var p = 0; p < count; p++)
            {
                if (taken.Contains((topic, p)))
                {
                    continue;
                }

                var target = eligible.MinBy(m => counts[m.MemberId])!;
                result[target.MemberId].Add(topic, p);
                counts[target.MemberId]++;
                taken.Add((topic, p));
            }
        }

        // Balance: move partitions from the most to the least loaded member until no move helps.
        var moved = true;
        while (moved)
        {
            moved = false;
            foreach (var from in ordered.OrderByDescending(m => counts[m.MemberId]))
            {
                foreach (var to in ordered.OrderBy(m => counts[m.MemberId]))
                {
                    if (counts[from.MemberId] <= counts[to.MemberId] + 1)
                    {
                        break;
                    }

                    var movable = result[from.MemberId].All().Where(tp => to.SubscribedTopicIds.Contains(tp.TopicId)).Cast<(Uuid TopicId, int Partition)?>().LastOrDefault();
                    if (movable is { } tp)
                    {
                        result[from.MemberId].Partitions[tp.TopicId].Remove(tp.Partition);
                        result[to.MemberId].Add(tp.TopicId, tp.Partition);
                        counts[from.MemberId]--;
                        counts[to.MemberId]++;
                        moved = true;
                        break;
                    }
                }

                if (moved)
                {
                    break;
                }
            }
        }

        return result;
    }
}

/// <summary>
/// Kafka's <c>range</c> assignor: per topic, the subscribed members (sorted by member id) get
/// consecutive ranges of partitions, the first ones one extra each when the division is uneven, so
/// members subscribed to co-partitioned topics get the same partition numbers of each.
/// </summary>
internal sealed class RangeAssignor : IPartitionAssignor
{
    public const string AssignorName = "range";

    public string Name => AssignorName;

    public Dictionary<string, Assignment> Assign(IReadOnlyList<AssignmentMember> members, IReadOnlyDictionary<Uuid, int> partitionCounts)
    {
        var result = members.ToDictionary(m => m.MemberId, _ => new Assignment(), StringComparer.Ordinal);
        foreach (var (topic, count) in partitionCounts)
        {
            var subscribed = members.Where(m => m.SubscribedTopicIds.Contains(topic)).OrderBy(m => m.MemberId, StringComparer.Ordinal).ToList();
            if (subscribed.Count == 0)
            {
                continue;
            }

            var quota = count / subscribed.Count;
            var extra = count % subscribed.Count;
            var next = 0;
            for (var i = 0; i < subscribed.Count; i++)
            {
                var size = quota + (i < extra ? 1 : 0);
                for (var p = next; p < next + size; p++)
                {
                    result[subscribed[i].MemberId].Add(topic, p);
                }

                next += size;
            }
        }

        return result;
    }
}
