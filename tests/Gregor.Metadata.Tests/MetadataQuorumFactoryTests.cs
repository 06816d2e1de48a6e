using System.Net;
using Gregor.Metadata.Quorum;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

public sealed class MetadataQuorumFactoryTests
{
    [Fact]
    public void VotersParseAsKRaftWritesThem()
    {
        var voters = MetadataQuorumFactory.ParseVoters(["1@127.0.0.1:9093", " 2@localhost:9094", "3@[::1]:9095", ""]);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9093), voters[1]);
        Assert.Equal(9094, voters[2].Port);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 9095), voters[3]);
        Assert.Throws<FormatException>(() => MetadataQuorumFactory.ParseVoters(["1@localhost"]));
        Assert.Throws<FormatException>(() => MetadataQuorumFactory.ParseVoters(["x@localhost:1"]));
        Assert.Throws<FormatException>(() => MetadataQuorumFactory.ParseVoters(["1@127.0.0.1:1", "1@127.0.0.2:2"]));
    }

    [Fact]
    public async Task ZeroConfigAndASingleVoterAreTheQuorumOfOneSeveralVotersAreRaft()
    {
        using var dir = new TempDirectory();
        string[] both = ["broker", "controller"];
        await using var zero = MetadataQuorumFactory.Create(1, both, [], dir.Path, 1000);
        Assert.IsType<LocalMetadataQuorum>(zero);
        await using var single = MetadataQuorumFactory.Create(1, both, ["1@localhost:9093"], dir.Path, 1000);
        Assert.IsType<LocalMetadataQuorum>(single);
        await using var raft = MetadataQuorumFactory.Create(2, both, ["1@localhost:19093", "2@localhost:19094", "3@localhost:19095"], dir.Path, 100);
        Assert.IsType<RaftMetadataQuorum>(raft);
        Assert.Throws<ArgumentException>(() => MetadataQuorumFactory.Create(4, both, ["1@localhost:19093", "2@localhost:19094"], dir.Path, 1000));

        // Broker-only nodes observe the log: they need a source and must not be voters.
        Assert.Throws<ArgumentException>(() => MetadataQuorumFactory.Create(4, ["broker"], ["1@localhost:19093"], dir.Path, 1000));
        Assert.Throws<ArgumentException>(() => MetadataQuorumFactory.Create(1, ["broker"], ["1@localhost:19093"], dir.Path, 1000, observerSource: new NoSource()));
        await using var observer = MetadataQuorumFactory.Create(4, ["broker"], ["1@localhost:19093", "2@localhost:19094"], dir.Path, 1000, observerSource: new NoSource());
        Assert.IsType<ObserverMetadataQuorum>(observer);
        Assert.False(observer.IsLeader);
        await Assert.ThrowsAsync<NotControllerException>(async () => await observer.AppendAsync(new byte[] { 1 }, CancellationToken.None));
    }

    private sealed class NoSource : IMetadataLogSource
    {
        public Task<MetadataLogFetch> FetchAsync(long fetchOffset, CancellationToken cancellationToken) => throw new InvalidOperationException("not started");

        public Task<Image.MetadataImage> FetchSnapshotAsync(long endOffset, CancellationToken cancellationToken) => throw new InvalidOperationException("not started");
    }
}
