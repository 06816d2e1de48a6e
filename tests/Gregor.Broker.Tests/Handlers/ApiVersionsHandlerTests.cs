using System.Buffers.Binary;
using System.Reflection;
using Gregor.Broker.Handlers;
using Gregor.TestKit;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

public sealed class ApiVersionsHandlerTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public ApiVersionsHandlerTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    /// <summary>Every handler declaration in the broker assembly, found independently of the registry.</summary>
    private static List<(short Key, short Min, short Max)> DeclaredHandlers() =>
        typeof(ApiHandlerAttribute).Assembly.GetTypes()
            .Select(t => t.GetCustomAttribute<ApiHandlerAttribute>())
            .Where(a => a is not null)
            // The controller RPCs brokers send each other (and FetchSnapshot for observers): served, but not listed (as Kafka's brokers do not).
            .Where(a => a!.ApiKey is not (ApiKey.AlterPartition or ApiKey.BrokerRegistration or ApiKey.BrokerHeartbeat or ApiKey.AllocateProducerIds or ApiKey.FetchSnapshot))
            .Select(a => ((short)a!.ApiKey, a.MinVersion, a.MaxVersion))
            .OrderBy(x => x.Item1)
            .ToList();

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task AdvertisedVersionsAreExactlyTheHandlerDeclarations(short version)
    {
        await using var client = await _broker.ConnectAsync();
        var response = await client.SendAsync<ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "gregor-tests", ClientSoftwareVersion = "1.0" }, version);

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        var advertised = response.ApiKeys.Select(k => (k.ApiKey, k.MinVersion, k.MaxVersion)).ToList();
        Assert.Equal(DeclaredHandlers(), advertised);
        Assert.Contains(((short)ApiKey.Produce, (short)0, (short)11), advertised);
        Assert.Contains(((short)ApiKey.Fetch, (short)4, (short)17), advertised);
        Assert.Contains(((short)ApiKey.Metadata, (short)0, (short)13), advertised);
    }

    [Fact]
    public async Task UnsupportedVersionGetsV0FormatErrorWithTheFullKeyList()
    {
        await using var client = await _broker.ConnectAsync();
        // Header v2 as a newer client would send it: key 18, version 127, correlation id, client id, no tags.
        var clientId = "future-client"u8.ToArray();
        var body = new byte[] { 0x00 }; // whatever v127 carries; the broker must not try to parse it
        var size = 2 + 2 + 4 + 2 + clientId.Length + 1 + body.Length;
        var frame = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(frame, size);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), 18);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), 127);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), 4242);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), (short)clientId.Length);
        clientId.CopyTo(frame.AsSpan(14));
        await client.WriteRawAsync(frame);

        var response = await client.ReadFrameAsync();
        Assert.NotNull(response);
        // Response header v0 (correlation id only), then the v0 body: error code, int32-counted array.
        Assert.Equal(4242, BinaryPrimitives.ReadInt32BigEndian(response));
        Assert.Equal((short)ErrorCode.UnsupportedVersion, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4)));
        var count = BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(6));
        var declared = DeclaredHandlers();
        Assert.Equal(declared.Count, count);
        Assert.Equal(4 + 2 + 4 + (count * 6), response.Length);
        for (var i = 0; i < count; i++)
        {
            var entry = response.AsSpan(10 + (i * 6));
            Assert.Equal(declared[i], (BinaryPrimitives.ReadInt16BigEndian(entry), BinaryPrimitives.ReadInt16BigEndian(entry[2..]), BinaryPrimitives.ReadInt16BigEndian(entry[4..])));
        }
    }

    [Fact]
    public async Task MalformedClientSoftwareNameIsInvalidRequest()
    {
        await using var client = await _broker.ConnectAsync();
        var response = await client.SendAsync<ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "-bad name-", ClientSoftwareVersion = "1.0" }, 3);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    [Fact]
    public async Task UnknownApiKeyClosesTheConnection()
    {
        await using var client = await _broker.ConnectAsync();
        var frame = new byte[4 + 10];
        BinaryPrimitives.WriteInt32BigEndian(frame, 10);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), 9999);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), 0);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), 1);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), -1);
        await client.WriteRawAsync(frame);
        Assert.Null(await client.ReadFrameAsync(TimeSpan.FromSeconds(10)));

        // The broker itself is fine.
        await using var other = await _broker.ConnectAsync();
        var response = await other.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
    }

    /// <summary>
    /// As Kafka: with KIP-848 groups disabled the broker still answers their APIs (with
    /// UNSUPPORTED_VERSION), but ApiVersions no longer lists them, so clients fall back to classic.
    /// </summary>
    [Fact]
    public async Task ConsumerGroupApisAreNotAdvertisedWhenTheConsumerProtocolIsDisabled()
    {
        await using var broker = await InProcessBroker.StartAsync(new Dictionary<string, string> { ["group.coordinator.rebalance.protocols"] = "classic" });
        using var connection = await RawConnection.ConnectAsync(broker.BootstrapServers);
        var request = new List<byte>();
        WireEncoding.WriteRequestHeaderV1(request, apiKey: 18, apiVersion: 0, correlationId: 9, "gregor-tests");
        await connection.SendFrameAsync(request.ToArray());
        var response = await connection.ReceiveFrameAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(4)));
        var count = BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(6));
        var keys = Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(10 + (i * 6)))).ToList();
        Assert.Contains((short)ApiKey.JoinGroup, keys);
        Assert.DoesNotContain((short)ApiKey.ConsumerGroupHeartbeat, keys);
        Assert.DoesNotContain((short)ApiKey.ConsumerGroupDescribe, keys);
        Assert.Equal(DeclaredHandlers().Count - 2, count);
    }
}
