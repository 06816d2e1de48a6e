using System.Globalization;
using System.Text;

namespace Gregor.Storage.Checkpoints;

/// <summary>
/// Kafka's offset checkpoint text format (<c>recovery-point-offset-checkpoint</c>,
/// <c>log-start-offset-checkpoint</c>, <c>replication-offset-checkpoint</c>): a version line
/// (0), a count line, then one <c>topic partition offset</c> line per partition.
/// </summary>
public sealed class OffsetCheckpointFile(string path)
{
    public const int CurrentVersion = 0;

    public const string RecoveryPointFileName = "recovery-point-offset-checkpoint";
    public const string LogStartOffsetFileName = "log-start-offset-checkpoint";
    public const string ReplicationOffsetFileName = "replication-offset-checkpoint";

    public string Path { get; } = path;

    public void Write(IEnumerable<KeyValuePair<TopicPartition, long>> offsets)
    {
        var list = offsets.ToList();
        var sb = new StringBuilder();
        sb.Append(CurrentVersion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(list.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var (tp, offset) in list)
        {
            sb.Append(tp.Topic).Append(' ')
                .Append(tp.Partition.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(offset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        AtomicFile.Write(Path, sb.ToString());
    }

    /// <summary>Reads the file; a missing file is empty. A malformed file throws
    /// <see cref="InvalidDataException"/>, as Kafka refuses to guess.</summary>
    public Dictionary<TopicPartition, long> Read()
    {
        var result = new Dictionary<TopicPartition, long>();
        if (!File.Exists(Path))
        {
            return result;
        }

        var lines = File.ReadAllLines(Path);
        if (lines.Length < 2 || lines[0].Trim() != "0" || !int.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw new InvalidDataException($"Malformed checkpoint file {Path}: bad version or count line.");
        }

        if (lines.Length - 2 < count)
        {
            throw new InvalidDataException($"Malformed checkpoint file {Path}: expected {count} entries, found {lines.Length - 2}.");
        }

        for (var i = 0; i < count; i++)
        {
            var parts = lines[i + 2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3
                || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var partition)
                || !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var offset))
            {
                throw new InvalidDataException($"Malformed checkpoint file {Path}: line '{lines[i + 2]}'.");
            }

            result[new TopicPartition(parts[0], partition)] = offset;
        }

        return result;
    }
}
