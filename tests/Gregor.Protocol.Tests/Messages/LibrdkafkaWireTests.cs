using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Xunit;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>
/// The real client's bytes: librdkafka (through Confluent.Kafka) connects to a loopback socket,
/// our codecs parse what it sends and answer its ApiVersions request, and it goes on to send a
/// Metadata request at the version we advertised — which only happens if it understood us.
/// </summary>
public sealed class LibrdkafkaWireTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task LibrdkafkaHandshakeParsesWithOurCodecs()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var cts = new CancellationTokenSource(Timeout);

        var config = new AdminClientConfig
        {
            BootstrapServers = $"127.0.0.1:{port}",
            ClientId = "gregor-wire-test",
            SocketTimeoutMs = 15000,
        };
        using var admin = new AdminClientBuilder(config).Build();
        // GetMetadata blocks until it gives up; it only serves to make librdkafka send requests.
        var metadataCall = Task.Run(() =>
        {
            try
            {
                admin.GetMetadata(TimeSpan.FromSeconds(3));
            }
            catch (KafkaException)
            {
            }
        });

        using var socket = await listener.AcceptSocketAsync(cts.Token);
        using var stream = new NetworkStream(socket);

        // 1. ApiVersions, request header v2 (flexible from v3).
        var (header, frame) = await ReadRequestAsync(stream, cts.Token);
        Assert.Equal((short)ApiKey.ApiVersions, header.RequestApiKey);
        Assert.True(header.RequestApiVersion >= 3, $"librdkafka sent ApiVersions v{header.RequestApiVersion}");
        Assert.Equal("gregor-wire-test", header.ClientId);
        var apiVersions = new ApiVersionsRequest();
        ReadBody(apiVersions, frame, header.RequestApiVersion);
        Assert.Equal("confluent-kafka-dotnet", apiVersions.ClientSoftwareName);
        Assert.False(string.IsNullOrEmpty(apiVersions.ClientSoftwareVersion));

        var response = new ApiVersionsResponse();
        foreach (var (key, max) in new[] { (ApiKey.Produce, (short)11), (ApiKey.Fetch, (short)16), (ApiKey.Metadata, (short)12), (ApiKey.ApiVersions, (short)4) })
        {
            response.ApiKeys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = (short)key, MinVersion = 0, MaxVersion = max });
        }

        await WriteResponseAsync(stream, header, response, cts.Token);

        // 2. Metadata at the version we advertised: librdkafka parsed our response.
        var (metadataHeader, metadataFrame) = await ReadRequestAsync(stream, cts.Token);
        while (metadataHeader.RequestApiKey != (short)ApiKey.Metadata)
        {
            (metadataHeader, metadataFrame) = await ReadRequestAsync(stream, cts.Token);
        }

        Assert.Equal(12, metadataHeader.RequestApiVersion);
        var metadata = new MetadataRequest();
        ReadBody(metadata, metadataFrame, 12);
        // librdkafka first asks for brokers only (empty list) or all topics (null).
        Assert.True(metadata.Topics is null || metadata.Topics.Count == 0);

        socket.Close();
        await metadataCall.WaitAsync(Timeout);
    }

    private static async Task<(RequestHeader Header, byte[] Frame)> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var sizeBytes = new byte[4];
        await stream.ReadExactlyAsync(sizeBytes, cancellationToken);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(sizeBytes)];
        await stream.ReadExactlyAsync(frame, cancellationToken);
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        var header = new RequestHeader();
        var reader = new KafkaReader(frame);
        header.Read(ref reader, ApiMessages.RequestHeaderVersion(apiKey, version));
        return (header, frame);
    }

    private static void ReadBody(IKafkaMessage body, byte[] frame, short version)
    {
        var reader = new KafkaReader(frame);
        var header = new RequestHeader();
        header.Read(ref reader, ApiMessages.RequestHeaderVersion((ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame), version));
        var bodyStart = reader.Position;
        body.Read(ref reader, version);
        Assert.True(reader.IsAtEnd, $"{reader.Remaining} bytes of {body.GetType().Name} v{version} left unread");

        // Byte for byte: writing what we read reproduces the client's encoding.
        var again = new byte[body.Size(version)];
        var writer = new KafkaWriter(again);
        body.Write(ref writer, version);
        Assert.True(frame.AsSpan(bodyStart).SequenceEqual(again), $"{body.GetType().Name} v{version} re-encodes differently");
    }

    private static async Task WriteResponseAsync(NetworkStream stream, RequestHeader request, IKafkaMessage body, CancellationToken cancellationToken)
    {
        var apiKey = (ApiKey)request.RequestApiKey;
        var version = request.RequestApiVersion;
        var headerVersion = ApiMessages.ResponseHeaderVersion(apiKey, version);
        var header = new ResponseHeader { CorrelationId = request.CorrelationId };
        var size = header.Size(headerVersion) + body.Size(version);
        var buffer = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(buffer, size);
        Write(buffer.AsSpan(4), header, headerVersion, body, version);
        await stream.WriteAsync(buffer, cancellationToken);
    }

    private static void Write(Span<byte> destination, IKafkaMessage header, short headerVersion, IKafkaMessage body, short version)
    {
        var writer = new KafkaWriter(destination);
        header.Write(ref writer, headerVersion);
        body.Write(ref writer, version);
        Assert.Equal(destination.Length, writer.Position);
    }
}
