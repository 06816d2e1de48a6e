using Gregor.Broker.Dispatch;
using Gregor.Protocol;

namespace Gregor.Broker.Handlers;

/// <summary>One request in flight: who sent it, which version, and buffers to release once its response is written.</summary>
public sealed class RequestContext
{
    private List<IDisposable>? _resources;

    public RequestContext(ConnectionContext connection, ApiKey apiKey, short apiVersion, int correlationId, string? clientId, Memory<byte> requestBuffer)
    {
        Connection = connection;
        ApiKey = apiKey;
        ApiVersion = apiVersion;
        CorrelationId = correlationId;
        ClientId = clientId;
        RequestBuffer = requestBuffer;
    }

    public ConnectionContext Connection { get; }

    public ApiKey ApiKey { get; }

    public short ApiVersion { get; }

    public int CorrelationId { get; }

    public string? ClientId { get; }

    /// <summary>The frame the request was read from; records in the request are slices of it, writable for in-place patching.</summary>
    public Memory<byte> RequestBuffer { get; }

    /// <summary>Keeps a pooled buffer referenced by the response (fetched records) alive until the response is serialized.</summary>
    public void RegisterForDispose(IDisposable resource) => (_resources ??= []).Add(resource);

    internal void ReleaseResources()
    {
        if (_resources is null)
        {
            return;
        }

        foreach (var resource in _resources)
        {
            resource.Dispose();
        }

        _resources = null;
    }
}
