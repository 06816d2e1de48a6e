// ElectLeaders v0-2 (KIP-183, election types from v1 by KIP-460). Preferred elections move
// leadership to each partition's first replica when it is in the ISR; unclean elections give a
// leaderless partition a leader, from outside the ISR only where the topic's
// unclean.leader.election.enable allows it. Null partitions = every partition. A broker that is
// not the active controller forwards the request to it, as Kafka's brokers do.
using Gregor.Broker.Cluster;
using Gregor.Metadata.Controller;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ElectLeaders, 0, 2)]
public sealed class ElectLeadersHandler : ApiHandler<ElectLeadersRequest>
{
    private readonly ControllerChannel? _controller;

    public ElectLeadersHandler(ControllerChannel? controller)
    {
        _controller = controller;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ElectLeadersRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (_controller is null)
        {
            return Failed(request, ErrorCode.NotController);
        }

        if (!_controller.IsActive
            && await _controller.TryForwardAsync<ElectLeadersResponse>(request, version, cancellationToken).ConfigureAwait(false) is { } forwarded)
        {
            return forwarded;
        }

        var type = version >= 1 ? request.ElectionType : (sbyte)ElectionType.Preferred;
        if (type is not ((sbyte)ElectionType.Preferred or (sbyte)ElectionType.Unclean))
        {
            return Failed(request, ErrorCode.InvalidRequest);
        }

        var partitions = request.TopicPartitions?.SelectMany(t => t.Partitions.Select(p => (t.Topic, p))).Distinct().ToList();
        var results = await _controller.Controller.ElectLeadersAsync((ElectionType)type, partitions, cancellationToken).ConfigureAwait(false);
        var response = new ElectLeadersResponse();
        if (results.Count > 0 && results.All(r => r.ErrorCode == ErrorCode.NotController) && version >= 1)
        {
            response.ErrorCode = (short)ErrorCode.NotController;
        }

        foreach (var group in results.GroupBy(r => r.Topic, StringComparer.Ordinal))
        {
            response.ReplicaElectionResults.Add(new ElectLeadersResponse.ReplicaElectionResult
            {
                Topic = group.Key,
                PartitionResult = [.. group.Select(r => new ElectLeadersResponse.PartitionResult
                {
                    PartitionId = r.Partition,
                    ErrorCode = (short)r.ErrorCode,
                    ErrorMessage = r.ErrorMessage,
                })],
            });
        }

        return response;
    }

    private static ElectLeadersResponse Failed(ElectLeadersRequest request, ErrorCode error)
    {
        var response = new ElectLeadersResponse { ErrorCode = (short)error };
        foreach (var topic in request.TopicPartitions ?? [])
        {
            response.ReplicaElectionResults.Add(new ElectLeadersResponse.ReplicaElectionResult
            {
                Topic = topic.Topic,
                PartitionResult = [.. topic.Partitions.Select(p => new ElectLeadersResponse.PartitionResult { PartitionId = p, ErrorCode = (short)error, ErrorMessage = null })],
            });
        }

        return response;
    }
}
