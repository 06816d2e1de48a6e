namespace Gregor.Coordinator;

/// <summary>Maps a group id (or transactional id) to its <c>__consumer_offsets</c> partition exactly as Kafka does.</summary>
public static class GroupPartitioner
{
    /// <summary>The internal topic that holds committed offsets and group metadata.</summary>
    public const string OffsetsTopicName = "__consumer_offsets";

    /// <summary>
    /// <c>Utils.abs(groupId.hashCode()) % partitionCount</c>. Kafka's <c>Utils.abs</c> maps
    /// <c>Integer.MIN_VALUE</c> to 0 (not to itself, as <c>Math.abs</c> would), so every group id
    /// has a valid partition.
    /// </summary>
    public static int PartitionFor(string groupId, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        var hash = JavaStringHashCode(groupId);
        var abs = hash == int.MinValue ? 0 : Math.Abs(hash);
        return abs % partitionCount;
    }

    /// <summary>Java's <c>String.hashCode()</c>: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, with int overflow.</summary>
    public static int JavaStringHashCode(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }
}
