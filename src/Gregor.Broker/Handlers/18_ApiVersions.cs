// ApiVersions v0-4. v3+ (KIP-511) carries the client's software name and version, kept on the
// connection. The key list is built from every handler's [ApiHandler] declaration. An unsupported
// (newer) version is answered in the v0 format with UNSUPPORTED_VERSION and the full list.
// Features (v3+ tagged fields) are not advertised yet.
using System.Text.RegularExpressions;
using Gregor.Broker.Dispatch;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ApiVersions, 0, 4)]
public sealed partial class ApiVersionsHandler : ApiHandler<ApiVersionsRequest>
{
    private readonly Func<HandlerRegistry> _registry;

    public ApiVersionsHandler(Func<HandlerRegistry> registry)
    {
        _registry = registry;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ApiVersionsRequest request, CancellationToken cancellationToken)
    {
        var response = BuildResponse(_registry(), ErrorCode.None);
        if (context.ApiVersion >= 3)
        {
            // Kafka validates the KIP-511 fields and answers INVALID_REQUEST when they are malformed.
            if (!IsValidSoftwareField(request.ClientSoftwareName) || !IsValidSoftwareField(request.ClientSoftwareVersion))
            {
                response.ErrorCode = (short)ErrorCode.InvalidRequest;
                return Respond(response);
            }

            context.Connection.ClientSoftwareName = request.ClientSoftwareName;
            context.Connection.ClientSoftwareVersion = request.ClientSoftwareVersion;
        }

        return Respond(response);
    }

    internal static ResponseFrame UnsupportedVersionResponse(HandlerRegistry registry, int correlationId) =>
        RequestDispatcher.Serialize(BuildResponse(registry, ErrorCode.UnsupportedVersion), ApiKey.ApiVersions, 0, correlationId);

    internal static ApiVersionsResponse BuildResponse(HandlerRegistry registry, ErrorCode errorCode)
    {
        var response = new ApiVersionsResponse { ErrorCode = (short)errorCode };
        foreach (var handler in registry.Handlers)
        {
            if (!handler.Advertised)
            {
                continue;
            }

            response.ApiKeys.Add(new ApiVersionsResponse.ApiVersion
            {
                ApiKey = (short)handler.ApiKey,
                MinVersion = handler.MinVersion,
                MaxVersion = handler.MaxVersion,
            });
        }

        return response;
    }

    private static bool IsValidSoftwareField(string? value) => value is not null && SoftwareField().IsMatch(value);

    [GeneratedRegex("^[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?$")]
    private static partial Regex SoftwareField();
}
