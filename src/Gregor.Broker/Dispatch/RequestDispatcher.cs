using System.Buffers;
using System.Buffers.Binary;
using Gregor.Broker.Handlers;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker.Dispatch;

/// <summary>
/// Parses the request header, routes to the handler for the API key, and frames the response.
/// Anything that cannot be understood (unknown key, a version no handler serves, a truncated
/// body) closes the connection, as Kafka does; ApiVersions alone answers an unsupported version,
/// in the v0 format every client can read (KIP-511), so clients can downgrade.
/// </summary>
public sealed class RequestDispatcher : IRequestDispatcher
{
    private readonly HandlerRegistry _registry;
    private readonly ILogger _logger;

    public RequestDispatcher(HandlerRegistry registry, ILogger<RequestDispatcher>? logger = null)
    {
        _registry = registry;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    public HandlerRegistry Registry => _registry;

    public async ValueTask<ResponseFrame?> DispatchAsync(ConnectionContext connection, Memory<byte> request, CancellationToken cancellationToken)
    {
        if (request.Length < 8)
        {
            throw new InvalidRequestException($"Request of {request.Length} bytes is shorter than a request header.");
        }

        var apiKey = BinaryPrimitives.ReadInt16BigEndian(request.Span);
        var apiVersion = BinaryPrimitives.ReadInt16BigEndian(request.Span[2..]);
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(request.Span[4..]);
        var handler = _registry.Find(apiKey)
            ?? throw new InvalidRequestException($"Unsupported API key {apiKey} (version {apiVersion}, correlation id {correlationId}).");

        if (apiVersion < handler.MinVersion || apiVersion > handler.MaxVersion)
        {
            if (handler.ApiKey == ApiKey.ApiVersions)
            {
                return ApiVersionsHandler.UnsupportedVersionResponse(_registry, correlationId);
            }

            throw new InvalidRequestException($"Unsupported version {apiVersion} of {handler.ApiKey} (supported {handler.MinVersion}-{handler.MaxVersion}).");
        }

        var header = new RequestHeader();
        var body = handler.CreateRequest();
        try
        {
            var reader = new KafkaReader(request);
            header.Read(ref reader, ApiMessages.RequestHeaderVersion(handler.ApiKey, apiVersion));
            body.Read(ref reader, apiVersion);
        }
        catch (ProtocolException e)
        {
            throw new InvalidRequestException($"Malformed {handler.ApiKey} v{apiVersion} request (correlation id {correlationId}): {e.Message}", e);
        }

        connection.ClientId = header.ClientId;
        var context = new RequestContext(connection, handler.ApiKey, apiVersion, correlationId, header.ClientId, request);
        try
        {
            var response = await handler.HandleAsync(context, body, cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                return null;
            }

            return Serialize(response, handler.ApiKey, apiVersion, correlationId);
        }
        catch (Exception e) when (e is not InvalidRequestException and not OperationCanceledException)
        {
            BrokerLog.HandlerFailed(_logger, e, handler.ApiKey.ToString(), apiVersion, correlationId, header.ClientId);

            // An internal failure is the client's error code, not a closed connection, wherever
            // the response can carry one for the whole request (Kafka's getErrorResponse).
            var error = e is KafkaApiException api ? api.Error : ErrorCode.UnknownServerError;
            if (ErrorResponses.TryCreate(handler.ApiKey, apiVersion, error) is { } errorResponse)
            {
                return Serialize(errorResponse, handler.ApiKey, apiVersion, correlationId);
            }

            throw new InvalidRequestException($"Failed to handle {handler.ApiKey} v{apiVersion}: {e.Message}", e);
        }
        finally
        {
            context.ReleaseResources();
        }
    }

    /// <summary>Header and body, sized exactly, in one pooled buffer behind the 4-byte size prefix.</summary>
    internal static ResponseFrame Serialize(IResponseMessage response, ApiKey apiKey, short version, int correlationId)
    {
        var headerVersion = ApiMessages.ResponseHeaderVersion(apiKey, version);
        var header = new ResponseHeader { CorrelationId = correlationId };
        var headerSize = header.Size(headerVersion);
        var length = headerSize + response.Size(version);
        var buffer = ArrayPool<byte>.Shared.Rent(4 + length);
        try
        {
            BinaryPrimitives.WriteInt32BigEndian(buffer, length);
            var writer = new KafkaWriter(buffer.AsSpan(4, length));
            header.Write(ref writer, headerVersion);
            response.Write(ref writer, version);
            return new ResponseFrame(buffer, 4 + length, pooled: true);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}
