using Gregor.Protocol;

namespace Gregor.Broker.Handlers;

/// <summary>The handlers by API key; the single source of what ApiVersions advertises.</summary>
public sealed class HandlerRegistry
{
    private readonly IApiHandler?[] _byKey;

    public HandlerRegistry(IEnumerable<IApiHandler> handlers)
    {
        var list = handlers.OrderBy(h => (short)h.ApiKey).ToList();
        var maxKey = list.Count == 0 ? 0 : list.Max(h => (short)h.ApiKey);
        _byKey = new IApiHandler?[maxKey + 1];
        foreach (var handler in list)
        {
            if (_byKey[(short)handler.ApiKey] is not null)
            {
                throw new InvalidOperationException($"Two handlers for {handler.ApiKey}.");
            }

            _byKey[(short)handler.ApiKey] = handler;
        }

        Handlers = list;
    }

    /// <summary>Every handler, ordered by API key (the order ApiVersions lists them in).</summary>
    public IReadOnlyList<IApiHandler> Handlers { get; }

    public IApiHandler? Find(short apiKey) =>
        apiKey >= 0 && apiKey < _byKey.Length ? _byKey[apiKey] : null;
}
