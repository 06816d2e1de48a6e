using Gregor.Broker.Config;
using Gregor.Network;

namespace Gregor.Host.Configuration;

/// <summary>Turns the broker's configuration into the network layer's options.</summary>
public static class BrokerConfigNetworkExtensions
{
    public static NetworkOptions ToNetworkOptions(this BrokerConfig config) => new()
    {
        Listeners = config.Listeners.Select(l => new ListenerEndpoint(l.Name, l.Host, l.Port)).ToArray(),
        SocketRequestMaxBytes = config.SocketRequestMaxBytes,
        SocketSendBufferBytes = config.SocketSendBufferBytes,
        SocketReceiveBufferBytes = config.SocketReceiveBufferBytes,
        SocketListenBacklogSize = config.GetInt("socket.listen.backlog.size"),
        ConnectionsMaxIdleMs = config.ConnectionsMaxIdleMs,
    };
}
