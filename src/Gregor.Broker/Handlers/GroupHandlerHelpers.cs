using System.Net;

namespace Gregor.Broker.Handlers;

/// <summary>What the group handlers share: how Kafka names a member's host and client.</summary>
internal static class GroupHandlerHelpers
{
    /// <summary>Kafka reports a member's host as <c>/</c> + its IP address (Java's InetAddress.toString()).</summary>
    public static string ClientHost(RequestContext context) =>
        context.Connection.RemoteEndPoint is IPEndPoint ip ? "/" + ip.Address : string.Empty;

    public static string ClientId(RequestContext context) => context.ClientId ?? string.Empty;
}
