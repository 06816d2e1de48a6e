using Gregor.Broker.Config;
using Gregor.Network;

namespace Gregor.Host.Configuration;

/// <summary>Turns the broker's configuration into the network layer's options.</summary>
public static class BrokerConfigNetworkExtensions
{
    /// <param name="excludeControllerListeners">Leave out <c>controller.listener.names</c> (their address is the Raft transport's).</param>
    public static NetworkOptions ToNetworkOptions(this BrokerConfig config, bool excludeControllerListeners = false) => new()
    {
        Listeners = config.Listeners
            .Where(l => !excludeControllerListeners || !config.ControllerListenerNames.Contains(l.Name, StringComparer.OrdinalIgnoreCase))
            .Select(l => new ListenerEndpoint(l.Name, l.Host, l.Port)).ToArray(),
        SocketRequestMaxBytes = config.SocketRequestMaxBytes,
        SocketSendBufferBytes = config.SocketSendBufferBytes,
        SocketReceiveBufferBytes = config.SocketReceiveBufferBytes,
        SocketListenBacklogSize = config.GetInt("socket.listen.backlog.size"),
        ConnectionsMaxIdleMs = config.ConnectionsMaxIdleMs,
    };
}
