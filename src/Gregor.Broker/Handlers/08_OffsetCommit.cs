// OffsetCommit v0-9. v0 commits outside any generation; v1 adds generation and member id (its
// per-partition commit timestamp is ignored, as Kafka 4 does); v2-4 carry a retention time; v6+
// the committed leader epoch; v7+ static membership; v9 a KIP-848 member epoch
// (STALE_MEMBER_EPOCH). Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION.
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.OffsetCommit, 0, 9)]
public sealed class OffsetCommitHandler : ApiHandler<OffsetCommitRequest>
{
    private readonly BrokerContext _broker;

    public OffsetCommitHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var unknown = new List<TopicPartitionError>();
        var topics = new List<OffsetCommitTopic>();
        foreach (var topic in request.Topics)
        {
            _broker.Metadata.TryGetTopic(topic.Name, out var metadata);
            var partitions = new List<OffsetCommitPartition>();
            foreach (var p in topic.Partitions)
            {
                if (metadata is null || p.PartitionIndex < 0 || p.PartitionIndex >= metadata.Partitions.Count)
                {
                    unknown.Add(new TopicPartitionError(topic.Name, p.PartitionIndex, ErrorCode.UnknownTopicOrPartition));
                    continue;
                }

                partitions.Add(new OffsetCommitPartition(p.PartitionIndex, p.CommittedOffset, version >= 6 ? p.CommittedLeaderEpoch : -1, p.CommittedMetadata));
            }

            if (partitions.Count > 0)
            {
                topics.Add(new OffsetCommitTopic(topic.Name, partitions));
            }
        }

        var results = new List<TopicPartitionError>();
        if (topics.Count > 0)
        {
            var input = new OffsetCommitInput(
                request.GroupId,
                version >= 1 ? request.GenerationIdOrMemberEpoch : -1,
                version >= 1 ? request.MemberId : string.Empty,
                version >= 7 ? request.GroupInstanceId : null,
                version is >= 2 and <= 4 ? request.RetentionTimeMs : -1,
                topics,
                version);
            results.AddRange((await _broker.Groups.Coordinator.CommitOffsetsAsync(input, cancellationToken).ConfigureAwait(false)).Partitions);
        }

        results.AddRange(unknown);
        var response = new OffsetCommitResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = topic.Name };
            foreach (var p in topic.Partitions)
            {
                var error = results.FirstOrDefault(r => r.Topic == topic.Name && r.Partition == p.PartitionIndex)?.Error ?? ErrorCode.UnknownServerError;
                topicResponse.Partitions.Add(new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = (short)error });
            }

            response.Topics.Add(topicResponse);
        }

        return response;
    }
}
