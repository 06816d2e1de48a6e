using Gregor.Protocol;

namespace Gregor.Storage.Checkpoints;

/// <summary>Kafka's <c>partition.metadata</c>: <c>version: 0</c> and <c>topic_id: &lt;base64 Uuid&gt;</c>.</summary>
public static class PartitionMetadataFile
{
    public const string FileName = "partition.metadata";

    public static void Write(string partitionDir, Uuid topicId) =>
        AtomicFile.Write(System.IO.Path.Combine(partitionDir, FileName), $"version: 0\ntopic_id: {topicId}\n");

    public static Uuid? Read(string partitionDir)
    {
        var path = System.IO.Path.Combine(partitionDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        Uuid? topicId = null;
        foreach (var line in File.ReadAllLines(path))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key == "version" && value != "0")
            {
                throw new InvalidDataException($"Unsupported partition.metadata version {value} in {partitionDir}.");
            }

            if (key == "topic_id")
            {
                topicId = Uuid.Parse(value);
            }
        }

        return topicId;
    }
}
