namespace Gregor.Metadata.Controller;

/// <summary>
/// Kafka's rack-unaware replica assignment: the first replica of partition p goes to broker
/// (start + p) mod n, the followers follow at a shift that grows by one every n partitions, so
/// leaders spread evenly and followers of one broker's partitions spread over the others.
/// </summary>
public static class ReplicaPlacement
{
    /// <param name="brokers">The usable broker ids (unfenced), in any order; sorted here.</param>
    /// <param name="startIndex">Kafka picks it at random per call; in [0, brokers.Count).</param>
    /// <param name="replicaShift">Kafka picks it at random per call; in [0, brokers.Count).</param>
    public static List<int[]> AssignRackUnaware(IReadOnlyCollection<int> brokers, int partitions, int replicationFactor, int startIndex, int replicaShift)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, brokers.Count);
        var ids = brokers.Order().ToArray();
        var n = ids.Length;
        var assignment = new List<int[]>(partitions);
        var shift = replicaShift;
        for (var p = 0; p < partitions; p++)
        {
            if (p > 0 && p % n == 0)
            {
                shift++;
            }

            var first = (p + startIndex) % n;
            var replicas = new int[replicationFactor];
            replicas[0] = ids[first];
            for (var j = 0; j < replicationFactor - 1; j++)
            {
                replicas[j + 1] = ids[FollowerIndex(first, shift, j, n)];
            }

            assignment.Add(replicas);
        }

        return assignment;
    }

    private static int FollowerIndex(int first, int shift, int j, int n) => (first + 1 + ((shift + j) % (n - 1))) % n;
}
