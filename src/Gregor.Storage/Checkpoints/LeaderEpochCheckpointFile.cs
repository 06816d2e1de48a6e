using System.Globalization;
using System.Text;

namespace Gregor.Storage.Checkpoints;

/// <summary>A leader epoch and the first offset written in it.</summary>
public readonly record struct EpochEntry(int Epoch, long StartOffset);

/// <summary>Kafka's <c>leader-epoch-checkpoint</c>: version 0, count, then <c>epoch startOffset</c> lines.</summary>
public sealed class LeaderEpochCheckpointFile(string path)
{
    public const string FileName = "leader-epoch-checkpoint";

    public string Path { get; } = path;

    public void Write(IReadOnlyCollection<EpochEntry> entries)
    {
        var sb = new StringBuilder();
        sb.Append("0\n").Append(entries.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var e in entries)
        {
            sb.Append(e.Epoch.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(e.StartOffset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        AtomicFile.Write(Path, sb.ToString());
    }

    public List<EpochEntry> Read()
    {
        var result = new List<EpochEntry>();
        if (!File.Exists(Path))
        {
            return result;
        }

        var lines = File.ReadAllLines(Path);
        if (lines.Length < 2 || lines[0].Trim() != "0" || !int.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || lines.Length - 2 < count)
        {
            throw new InvalidDataException($"Malformed leader epoch checkpoint {Path}.");
        }

        for (var i = 0; i < count; i++)
        {
            var parts = lines[i + 2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch)
                || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var offset))
            {
                throw new InvalidDataException($"Malformed leader epoch checkpoint {Path}: line '{lines[i + 2]}'.");
            }

            result.Add(new EpochEntry(epoch, offset));
        }

        return result;
    }
}
