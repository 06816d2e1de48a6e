// CreatePartitions v0-3 (v2+ flexible). Raises a topic's partition count, never lowers it; new
// partitions get Kafka's round-robin placement unless assignments are given. Existing partitions
// keep their data; keyed records may map differently afterwards, as in Kafka. validate-only checks
// without creating.
using Gregor.Broker.Metadata;
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.CreatePartitions, 0, 3)]
public sealed class CreatePartitionsHandler : ApiHandler<CreatePartitionsRequest>
{
    private readonly ControllerChannel? _controller;
    private readonly BrokerContext _broker;

    public CreatePartitionsHandler(BrokerContext broker, ControllerChannel? controller = null)
    {
        _controller = controller;
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, CreatePartitionsRequest request, CancellationToken cancellationToken)
    {
        // Admin writes go to the active controller (Kafka's brokers forward them too).
        if (_controller is { IsActive: false } && true
            && await _controller.TryForwardAsync<CreatePartitionsResponse>(request, context.ApiVersion, cancellationToken).ConfigureAwait(false) is { } forwarded)
        {
            return forwarded;
        }

        if (_controller is not null)
        {
            // Placement and checks below read this node's image: let it hold every committed entry.
            await _controller.Controller.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        return await HandleLocally(context, request, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<IResponseMessage?> HandleLocally(RequestContext context, CreatePartitionsRequest request, CancellationToken cancellationToken)
    {
        var response = new CreatePartitionsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var topic in request.Topics)
        {
            var (error, message) = duplicates.Contains(topic.Name)
                ? (ErrorCode.InvalidRequest, "Duplicate topic in request.")
                : Create(topic, request.ValidateOnly);
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = topic.Name,
                ErrorCode = (short)error,
                ErrorMessage = message,
            });
        }

        return Respond(response);
    }

    private (ErrorCode, string?) Create(CreatePartitionsRequest.CreatePartitionsTopic request, bool validateOnly)
    {
        if (!_broker.Metadata.TryGetTopic(request.Name, out var topic))
        {
            return (ErrorCode.UnknownTopicOrPartition, $"The topic '{request.Name}' does not exist.");
        }

        var current = topic.Partitions.Count;
        if (request.Count < current)
        {
            return (ErrorCode.InvalidPartitions, $"Topic currently has {current} partitions, which is higher than the requested {request.Count}.");
        }

        if (request.Count == current)
        {
            return (ErrorCode.InvalidPartitions, $"Topic already has {current} partitions.");
        }

        var added = request.Count - current;
        var liveBrokers = _broker.Metadata.AliveBrokers.Select(b => b.NodeId).OrderBy(id => id).ToArray();
        if (liveBrokers.Length == 0)
        {
            liveBrokers = [_broker.NodeId];
        }

        var factor = topic.ReplicationFactor;
        List<IReadOnlyList<int>> assignment;
        if (request.Assignments is { } assignments)
        {
            if (assignments.Count != added)
            {
                return (ErrorCode.InvalidReplicaAssignment,
                    $"Attempted to add {added} additional partition(s), but only {assignments.Count} assignment(s) were specified.");
            }

            assignment = [];
            foreach (var replicas in assignments.Select(a => a.BrokerIds))
            {
                if (replicas.Count != factor)
                {
                    return (ErrorCode.InvalidReplicaAssignment, $"The manual partition assignment includes a partition with {replicas.Count} replica(s), but this is not consistent with previous partitions, which have {factor} replica(s).");
                }

                if (replicas.Distinct().Count() != replicas.Count)
                {
                    return (ErrorCode.InvalidReplicaAssignment, "The manual partition assignment includes a broker more than once.");
                }

                var unknown = replicas.FirstOrDefault(b => Array.IndexOf(liveBrokers, b) < 0, -1);
                if (unknown >= 0 || replicas.Any(b => b < 0))
                {
                    return (ErrorCode.InvalidReplicaAssignment, $"The manual partition assignment includes broker {replicas.First(b => Array.IndexOf(liveBrokers, b) < 0)}, but no such broker is registered.");
                }

                assignment.Add(replicas.ToArray());
            }
        }
        else
        {
            if (factor > liveBrokers.Length)
            {
                return (ErrorCode.InvalidReplicationFactor, $"Unable to replicate the partition {factor} time(s): The target replication factor of {factor} cannot be reached because only {liveBrokers.Length} broker(s) are registered.");
            }

            assignment = [];
            for (var p = current; p < request.Count; p++)
            {
                var replicas = new int[factor];
                for (var r = 0; r < factor; r++)
                {
                    replicas[r] = liveBrokers[(p + r) % liveBrokers.Length];
                }

                assignment.Add(replicas);
            }
        }

        if (validateOnly)
        {
            return (ErrorCode.None, null);
        }

        try
        {
            _broker.TopicWriter.AddPartitions(topic.Name, assignment);
        }
        catch (TopicMetadataException e)
        {
            return (e.ErrorCode, e.Message);
        }

        return (ErrorCode.None, null);
    }
}
