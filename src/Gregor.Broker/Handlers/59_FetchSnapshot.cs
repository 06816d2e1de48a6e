// FetchSnapshot v0-1 (KIP-595): a broker-only observer that fell behind the metadata log's start
// loads a snapshot of the metadata image before fetching again (see MetadataLogServer). Served by
// every voter on the inter-broker listener; not listed in ApiVersions, as Kafka's brokers do not
// list their controllers' Raft APIs.
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.FetchSnapshot, 0, 1)]
public sealed class FetchSnapshotHandler : ApiHandler<FetchSnapshotRequest>
{
    private readonly ControllerChannel? _controller;

    public FetchSnapshotHandler(ControllerChannel? controller)
    {
        _controller = controller;
    }

    public override bool Advertised => false;

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, FetchSnapshotRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IResponseMessage?>(_controller is null
            ? new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.UnsupportedVersion }
            : _controller.MetadataLog.FetchSnapshot(request));
}
