namespace Gregor.Storage;

/// <summary>A partition of a topic; <see cref="ToString"/> is Kafka's directory name <c>topic-partition</c>.</summary>
public readonly record struct TopicPartition(string Topic, int Partition)
{
    public override string ToString() => $"{Topic}-{Partition}";

    /// <summary>Parses a partition directory name; topics may contain '-', so the partition is after the last one.</summary>
    public static bool TryParseDirectoryName(string name, out TopicPartition topicPartition)
    {
        topicPartition = default;
        var dash = name.LastIndexOf('-');
        if (dash <= 0 || dash == name.Length - 1 || name.Contains('.', StringComparison.Ordinal) && !IsLegalTopicWithDot(name[..dash]))
        {
            return false;
        }

        if (!int.TryParse(name.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var partition))
        {
            return false;
        }

        topicPartition = new TopicPartition(name[..dash], partition);
        return true;
    }

    // Kafka topic names are [a-zA-Z0-9._-]; a '.' in a partition directory name otherwise marks a
    // "-delete"/"-future"/"-stray" directory, which the caller filters by suffix first.
    private static bool IsLegalTopicWithDot(string topic) =>
        topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
