using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

/// <summary>
/// Declares the API key and the versions a handler implements. ApiVersions is built from these
/// declarations, so what Gregor advertises is exactly what its handlers serve.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ApiHandlerAttribute : Attribute
{
    public ApiHandlerAttribute(ApiKey apiKey, short minVersion, short maxVersion)
    {
        ApiKey = apiKey;
        MinVersion = minVersion;
        MaxVersion = maxVersion;
    }

    public ApiKey ApiKey { get; }

    public short MinVersion { get; }

    public short MaxVersion { get; }
}

/// <summary>What the dispatcher needs from any handler, whatever its message types.</summary>
public interface IApiHandler
{
    ApiKey ApiKey { get; }

    short MinVersion { get; }

    short MaxVersion { get; }

    /// <summary>
    /// Whether ApiVersions lists this API. False only where Kafka still answers the request but hides
    /// the API by configuration (KIP-848's APIs when group.coordinator.rebalance.protocols lacks consumer).
    /// </summary>
    bool Advertised { get; }

    IRequestMessage CreateRequest();

    /// <summary>Returns the response body, or null when the protocol sends none (produce acks=0).</summary>
    ValueTask<IResponseMessage?> HandleAsync(RequestContext context, IRequestMessage request, CancellationToken cancellationToken);
}

/// <summary>Base of every handler: typed request in, response out, versions from <see cref="ApiHandlerAttribute"/>.</summary>
public abstract class ApiHandler<TRequest> : IApiHandler
    where TRequest : class, IRequestMessage, new()
{
    protected ApiHandler()
    {
        var declaration = (ApiHandlerAttribute?)Attribute.GetCustomAttribute(GetType(), typeof(ApiHandlerAttribute))
            ?? throw new InvalidOperationException($"{GetType().Name} lacks [ApiHandler(...)].");
        ApiKey = declaration.ApiKey;
        MinVersion = declaration.MinVersion;
        MaxVersion = declaration.MaxVersion;
    }

    public ApiKey ApiKey { get; }

    public short MinVersion { get; }

    public short MaxVersion { get; }

    public virtual bool Advertised => true;

    public IRequestMessage CreateRequest() => new TRequest();

    ValueTask<IResponseMessage?> IApiHandler.HandleAsync(RequestContext context, IRequestMessage request, CancellationToken cancellationToken) =>
        HandleAsync(context, (TRequest)request, cancellationToken);

    protected abstract ValueTask<IResponseMessage?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken);

    protected static ValueTask<IResponseMessage?> Respond(IResponseMessage? response) => new(response);
}
