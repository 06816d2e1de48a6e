using Gregor.Broker.Client;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Client;

/// <summary>The node-to-node client against a real broker: pipelined requests, and failure when the peer goes away.</summary>
public class NodeConnectionTests
{
    [Fact]
    public async Task PipelinedRequestsGetTheirOwnResponses()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var (host, port) = Split(broker.BootstrapServers);
        await using var pool = new NodeClientPool("node-connection-tests");
        var tasks = Enumerable.Range(0, 20).Select(i => i % 2 == 0
            ? (Task<IResponseMessage>)Send<ApiVersionsResponse>(pool, host, port, new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 3)
            : Send<MetadataResponse>(pool, host, port, new MetadataRequest { Topics = null }, 12)).ToList();
        var responses = await Task.WhenAll(tasks);
        for (var i = 0; i < responses.Length; i++)
        {
            if (i % 2 == 0)
            {
                var versions = Assert.IsType<ApiVersionsResponse>(responses[i]);
                Assert.Equal((short)ErrorCode.None, versions.ErrorCode);
                Assert.Contains(versions.ApiKeys, k => k.ApiKey == (short)ApiKey.Fetch);
            }
            else
            {
                var metadata = Assert.IsType<MetadataResponse>(responses[i]);
                Assert.Equal(port, Assert.Single(metadata.Brokers).Port);
            }
        }
    }

    [Fact]
    public async Task AStoppedPeerFailsTheRequestAndTheNextSendReconnects()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var (host, port) = Split(broker.BootstrapServers);
        await using var pool = new NodeClientPool("node-connection-tests");
        var request = new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" };
        await pool.SendAsync<ApiVersionsResponse>(host, port, "p", request, 3, TimeSpan.FromSeconds(5), CancellationToken.None);

        await broker.StopAsync();
        await Assert.ThrowsAsync<NodeConnectionException>(() =>
            pool.SendAsync<ApiVersionsResponse>(host, port, "p", request, 3, TimeSpan.FromSeconds(5), CancellationToken.None));

        await broker.StartAgainAsync();
        var response = await pool.SendAsync<ApiVersionsResponse>(host, port, "p", request, 3, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
    }

    private static async Task<IResponseMessage> Send<T>(NodeClientPool pool, string host, int port, IRequestMessage request, short version)
        where T : class, IResponseMessage =>
        await pool.SendAsync<T>(host, port, "p", request, version, TimeSpan.FromSeconds(5), CancellationToken.None);

    private static (string Host, int Port) Split(string bootstrap)
    {
        var colon = bootstrap.LastIndexOf(':');
        return (bootstrap[..colon], int.Parse(bootstrap[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
