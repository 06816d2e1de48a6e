using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gregor.Network;

/// <summary>
/// Socket-server metrics under Kafka's selector metric names, tagged with the listener name (as
/// Kafka tags them per listener and network processor).
/// </summary>
internal sealed class NetworkMetrics : IDisposable
{
    public const string MeterName = "Gregor.Network";
    public const string ListenerTag = "listener";

    private readonly Meter _meter;

    public NetworkMetrics()
    {
        _meter = new Meter(MeterName);
        ConnectionCount = _meter.CreateUpDownCounter<long>("connection-count", description: "Connections currently open.");
        ConnectionCreationTotal = _meter.CreateCounter<long>("connection-creation-total", description: "Connections accepted.");
        ConnectionCloseTotal = _meter.CreateCounter<long>("connection-close-total", description: "Connections closed.");
        IncomingByteTotal = _meter.CreateCounter<long>("incoming-byte-total", unit: "By", description: "Bytes read from clients.");
        OutgoingByteTotal = _meter.CreateCounter<long>("outgoing-byte-total", unit: "By", description: "Bytes of responses written to clients.");
        RequestTotal = _meter.CreateCounter<long>("request-total", description: "Request frames received.");
        ResponseTotal = _meter.CreateCounter<long>("response-total", description: "Response frames sent.");
    }

    public UpDownCounter<long> ConnectionCount { get; }

    public Counter<long> ConnectionCreationTotal { get; }

    public Counter<long> ConnectionCloseTotal { get; }

    public Counter<long> IncomingByteTotal { get; }

    public Counter<long> OutgoingByteTotal { get; }

    public Counter<long> RequestTotal { get; }

    public Counter<long> ResponseTotal { get; }

    public static TagList Tags(string listenerName) => new() { { ListenerTag, listenerName } };

    public void Dispose() => _meter.Dispose();
}
