// DeleteTopics v1-6. By name before v6, by name or topic id from v6 (exactly one of them).
// delete.topic.enable=false answers TOPIC_DELETION_DISABLED. Deletion is complete when the
// response is sent: the topic is gone from metadata and its logs are renamed for deletion.
using Gregor.Broker.Metadata;
using Gregor.Broker.Cluster;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DeleteTopics, 1, 6)]
public sealed class DeleteTopicsHandler : ApiHandler<DeleteTopicsRequest>
{
    private readonly ControllerChannel? _controller;
    private readonly BrokerContext _broker;

    public DeleteTopicsHandler(BrokerContext broker, ControllerChannel? controller = null)
    {
        _controller = controller;
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        // Admin writes go to the active controller (Kafka's brokers forward them too).
        if (_controller is { IsActive: false } && true
            && await _controller.TryForwardAsync<DeleteTopicsResponse>(request, context.ApiVersion, cancellationToken).ConfigureAwait(false) is { } forwarded)
        {
            await _controller.WaitForMetadataAsync(
                image => request.TopicNames.Concat(request.Topics.Select(t => t.Name ?? string.Empty)).All(n => !image.TopicsByName.ContainsKey(n)), cancellationToken).ConfigureAwait(false);
            return forwarded;
        }

        if (_controller is not null)
        {
            // Placement and checks below read this node's image: let it hold every committed entry.
            await _controller.Controller.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        return await HandleLocally(context, request, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<IResponseMessage?> HandleLocally(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new DeleteTopicsResponse();
        var targets = new List<(string? Name, Uuid TopicId)>();
        if (version >= 6)
        {
            targets.AddRange(request.Topics.Select(t => (t.Name, t.TopicId)));
        }
        else
        {
            targets.AddRange(request.TopicNames.Select(n => ((string?)n, Uuid.Zero)));
        }

        foreach (var (name, topicId) in targets)
        {
            var result = new DeleteTopicsResponse.DeletableTopicResult { Name = name, TopicId = topicId };
            response.Responses.Add(result);
            TopicMetadata? topic = null;
            if (!_broker.Settings.DeleteTopicEnable)
            {
                result.ErrorCode = (short)ErrorCode.TopicDeletionDisabled;
                result.ErrorMessage = "Topic deletion is disabled.";
                continue;
            }

            if (name is not null && !topicId.IsZero || name is null && topicId.IsZero)
            {
                result.ErrorCode = (short)ErrorCode.InvalidRequest;
                result.ErrorMessage = "Exactly one of topic name or topic id must be given.";
                continue;
            }

            if (name is not null ? !_broker.Metadata.TryGetTopic(name, out topic) : !_broker.Metadata.TryGetTopic(topicId, out topic))
            {
                result.ErrorCode = (short)(name is not null ? ErrorCode.UnknownTopicOrPartition : ErrorCode.UnknownTopicId);
                result.ErrorMessage = name is not null ? "This server does not host this topic-partition." : "This server does not host this topic ID.";
                continue;
            }

            var removed = _broker.TopicWriter.DeleteTopic(topic.Name);
            if (removed is null)
            {
                result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                continue;
            }

            BrokerLog.TopicDeleted(_broker.Logger, removed.Name, removed.TopicId.ToString());
            result.Name = removed.Name;
            result.TopicId = removed.TopicId;
            result.ErrorCode = (short)ErrorCode.None;
            result.ErrorMessage = null;
        }

        return Respond(response);
    }
}
