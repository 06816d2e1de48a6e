using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Metadata.Quorum;

/// <summary>
/// Chooses the quorum implementation from KRaft's settings: <c>process.roles</c>, <c>node.id</c>,
/// <c>controller.quorum.voters</c> (<c>id@host:port,...</c>) and
/// <c>controller.quorum.election.timeout.ms</c>. No voters, or this node as the only voter, is the
/// zero-config quorum of one; several voters make a Raft quorum; a node without the controller
/// role observes the log through <see cref="IMetadataLogSource"/>.
/// </summary>
public static class MetadataQuorumFactory
{
    /// <summary>The metadata log's directory name under <c>metadata.log.dir</c>, as Kafka names it.</summary>
    public const string MetadataLogDirectoryName = "__cluster_metadata-0";

    public static IMetadataQuorum Create(
        int nodeId,
        IReadOnlyCollection<string> processRoles,
        IReadOnlyCollection<string> voters,
        string metadataLogDir,
        int electionTimeoutMs,
        ILoggerFactory? loggerFactory = null,
        IMetadataLogSource? observerSource = null,
        TimeProvider? time = null)
    {
        var parsed = ParseVoters(voters);
        var directory = Path.Combine(metadataLogDir, MetadataLogDirectoryName);
        if (!processRoles.Contains("controller"))
        {
            // A broker-only node follows the log as a non-voting observer (KRaft's observers).
            if (parsed.ContainsKey(nodeId))
            {
                throw new ArgumentException($"node.id {nodeId} is in controller.quorum.voters but process.roles has no controller role.");
            }

            return new ObserverMetadataQuorum(
                nodeId,
                observerSource ?? throw new ArgumentException("A broker-only node needs a source of the metadata log (controller.quorum.bootstrap.servers).", nameof(observerSource)),
                time,
                loggerFactory);
        }

        if (parsed.Count == 0 || (parsed.Count == 1 && parsed.ContainsKey(nodeId)))
        {
            return new LocalMetadataQuorum(nodeId, directory);
        }

        if (!parsed.ContainsKey(nodeId))
        {
            throw new ArgumentException($"node.id {nodeId} has the controller role but is not in controller.quorum.voters.");
        }

        // Kafka randomises elections between the timeout and twice it; never below 500 ms (DESIGN.md 6).
        var lower = Math.Max(500, electionTimeoutMs);
        return new RaftMetadataQuorum(new RaftQuorumOptions
        {
            NodeId = nodeId,
            Voters = parsed,
            LogDirectory = directory,
            LowerElectionTimeoutMs = lower,
            UpperElectionTimeoutMs = lower * 2,
            LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
        });
    }

    /// <summary>Parses <c>controller.quorum.voters</c> entries (<c>1@localhost:9093</c>).</summary>
    public static Dictionary<int, IPEndPoint> ParseVoters(IEnumerable<string> voters)
    {
        var result = new Dictionary<int, IPEndPoint>();
        foreach (var raw in voters)
        {
            var voter = raw.Trim();
            if (voter.Length == 0)
            {
                continue;
            }

            var at = voter.IndexOf('@', StringComparison.Ordinal);
            var colon = voter.LastIndexOf(':');
            if (at <= 0 || colon <= at + 1
                || !int.TryParse(voter.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || !int.TryParse(voter.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                throw new FormatException($"controller.quorum.voters entry '{voter}' is not of the form id@host:port.");
            }

            var host = voter[(at + 1)..colon].Trim('[', ']');
            if (!IPAddress.TryParse(host, out var address))
            {
                address = Dns.GetHostAddresses(host).OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).First();
            }

            if (!result.TryAdd(id, new IPEndPoint(address, port)))
            {
                throw new FormatException($"controller.quorum.voters names node {id} twice.");
            }
        }

        return result;
    }
}
