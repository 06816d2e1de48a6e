using Gregor.Host;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>A broker on an ephemeral loopback port with its data in a temp directory, shared by one test class.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("gregor-handlers");

    public BrokerServer Server { get; private set; } = null!;

    public string DataDirectory => _directory.Path;

    public async Task InitializeAsync()
    {
        Server = new BrokerServer(new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = _directory.Path,
            ["num.partitions"] = "1",
        });
        await Server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _directory.Dispose();
    }

    internal Task<WireClient> ConnectAsync() => WireClient.ConnectAsync(Server.BoundEndpoints[0]);
}
