using System.Buffers.Binary;
using System.Net.Sockets;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>
/// A bare Kafka wire client for handler tests: writes a request with the generated messages over a
/// real socket and reads the response frame back. Nothing is mocked: the broker under test parses
/// and answers exactly as for a real client.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private int _correlationId;

    private WireClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<WireClient> ConnectAsync(System.Net.IPEndPoint endpoint)
    {
        var client = new TcpClient(endpoint.AddressFamily) { NoDelay = true };
        await client.ConnectAsync(endpoint);
        return new WireClient(client);
    }

    public async Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short version)
        where TResponse : IResponseMessage, new()
    {
        var correlationId = await WriteRequestAsync(request, version);
        var frame = await ReadFrameAsync() ?? throw new IOException("The broker closed the connection.");
        var reader = new KafkaReader(frame);
        var header = new ResponseHeader();
        header.Read(ref reader, ApiMessages.ResponseHeaderVersion(request.ApiKey, version));
        Assert.Equal(correlationId, header.CorrelationId);
        var response = new TResponse();
        response.Read(ref reader, version);
        Assert.True(reader.IsAtEnd, $"{reader.Remaining} bytes left after the {typeof(TResponse).Name} v{version} body.");
        return response;
    }

    /// <summary>Writes a request; <paramref name="headerVersionNumber"/> claims another API version than the body's format (for versions newer than the definitions).</summary>
    public async Task<int> WriteRequestAsync(IRequestMessage request, short version, short? headerVersionNumber = null)
    {
        var correlationId = ++_correlationId;
        var header = new RequestHeader
        {
            RequestApiKey = (short)request.ApiKey,
            RequestApiVersion = headerVersionNumber ?? version,
            CorrelationId = correlationId,
            ClientId = "handler-tests",
        };
        var headerVersion = ApiMessages.RequestHeaderVersion(request.ApiKey, version);
        var size = header.Size(headerVersion) + request.Size(version);
        var buffer = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(buffer, size);
        Write(buffer.AsSpan(4), header, headerVersion, request, version);
        await WriteRawAsync(buffer);
        return correlationId;
    }

    private static void Write(Span<byte> destination, RequestHeader header, short headerVersion, IRequestMessage request, short version)
    {
        var writer = new KafkaWriter(destination);
        header.Write(ref writer, headerVersion);
        request.Write(ref writer, version);
    }

    public async Task WriteRawAsync(byte[] frame)
    {
        await _stream.WriteAsync(frame);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one response frame (without its size prefix), or null when the broker closed the connection.</summary>
    public async Task<byte[]?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var sizeBytes = new byte[4];
        if (!await ReadExactlyAsync(sizeBytes, cts.Token))
        {
            return null;
        }

        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(sizeBytes)];
        return await ReadExactlyAsync(frame, cts.Token) ? frame : null;
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
