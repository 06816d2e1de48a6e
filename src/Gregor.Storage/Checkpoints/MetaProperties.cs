using System.Globalization;
using System.Text;
using Gregor.Protocol;

namespace Gregor.Storage.Checkpoints;

/// <summary>
/// <c>meta.properties</c> at the top of each log dir in Kafka's KRaft form (version=1): node.id,
/// cluster.id and directory.id (KIP-858). A Java properties file; Kafka writes a comment line first.
/// </summary>
public sealed record MetaProperties(int NodeId, string ClusterId, Uuid DirectoryId)
{
    public const string FileName = "meta.properties";

    public void Write(string logDir)
    {
        var sb = new StringBuilder();
        sb.Append("#Written by Gregor\n");
        sb.Append("node.id=").Append(NodeId.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("directory.id=").Append(DirectoryId.ToString()).Append('\n');
        sb.Append("version=1\n");
        sb.Append("cluster.id=").Append(ClusterId).Append('\n');
        AtomicFile.Write(Path.Combine(logDir, FileName), sb.ToString());
    }

    /// <summary>Null when absent; throws <see cref="InvalidDataException"/> for an unusable file.</summary>
    public static MetaProperties? Read(string logDir)
    {
        var path = Path.Combine(logDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            var eq = line.IndexOfAny(['=', ':']);
            if (eq > 0)
            {
                props[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        if (!props.TryGetValue("version", out var version) || version != "1")
        {
            throw new InvalidDataException($"{path}: only meta.properties version=1 (KRaft) is supported.");
        }

        if (!props.TryGetValue("node.id", out var nodeText) || !int.TryParse(nodeText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var nodeId))
        {
            throw new InvalidDataException($"{path}: missing or bad node.id.");
        }

        if (!props.TryGetValue("cluster.id", out var clusterId) || clusterId.Length == 0)
        {
            throw new InvalidDataException($"{path}: missing cluster.id.");
        }

        var directoryId = props.TryGetValue("directory.id", out var dirText) ? Uuid.Parse(dirText) : Uuid.Zero;
        return new MetaProperties(nodeId, clusterId, directoryId);
    }
}
