// OffsetFetch v0-9. v0-7 fetch one group (v2+ all its offsets with a null topic list, and a
// top-level error); v8+ a batch of groups (KIP-709); v9 a KIP-848 member id and epoch. A partition
// without a committed offset answers offset -1. require_stable (v7+, KIP-447): a partition whose
// offset an open transaction is about to commit answers UNSTABLE_OFFSET_COMMIT (the client retries).
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.OffsetFetch, 0, 9)]
public sealed class OffsetFetchHandler : ApiHandler<OffsetFetchRequest>
{
    private readonly BrokerContext _broker;

    public OffsetFetchHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var coordinator = _broker.Groups.Coordinator;
        var response = new OffsetFetchResponse();
        if (version >= 8)
        {
            foreach (var group in request.Groups)
            {
                var topics = group.Topics?.Select(t => new OffsetFetchTopic(t.Name, t.PartitionIndexes)).ToList();
                var result = coordinator.FetchOffsets(new OffsetFetchInput(group.GroupId, topics, request.RequireStable, version >= 9 ? group.MemberId : null, version >= 9 ? group.MemberEpoch : -1));
                var groupResponse = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = group.GroupId, ErrorCode = (short)result.Error };
                foreach (var byTopic in result.Offsets.GroupBy(o => o.Topic, StringComparer.Ordinal))
                {
                    var topicResponse = new OffsetFetchResponse.OffsetFetchResponseTopics { Name = byTopic.Key };
                    foreach (var fetched in byTopic)
                    {
                        var o = Stable(group.GroupId, fetched, request.RequireStable);
                        topicResponse.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = o.Partition,
                            CommittedOffset = o.Offset,
                            CommittedLeaderEpoch = o.LeaderEpoch,
                            Metadata = o.Metadata,
                            ErrorCode = (short)o.Error,
                        });
                    }

                    groupResponse.Topics.Add(topicResponse);
                }

                response.Groups.Add(groupResponse);
            }

            return Respond(response);
        }

        var requested = request.Topics?.Select(t => new OffsetFetchTopic(t.Name, t.PartitionIndexes)).ToList();
        var single = coordinator.FetchOffsets(new OffsetFetchInput(request.GroupId, requested, version >= 7 && request.RequireStable));
        response.ErrorCode = (short)single.Error;
        var offsets = single.Offsets;
        if (single.Error != ErrorCode.None && requested is not null)
        {
            // v0-1 have no top-level error: each partition carries it.
            offsets = [.. requested.SelectMany(t => t.Partitions.Select(p => new FetchedOffset(t.Name, p, -1, -1, string.Empty, single.Error)))];
        }

        foreach (var byTopic in offsets.GroupBy(o => o.Topic, StringComparer.Ordinal))
        {
            var topicResponse = new OffsetFetchResponse.OffsetFetchResponseTopic { Name = byTopic.Key };
            foreach (var fetched in byTopic)
            {
                var o = Stable(request.GroupId, fetched, version >= 7 && request.RequireStable);
                topicResponse.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = o.Partition,
                    CommittedOffset = o.Offset,
                    CommittedLeaderEpoch = o.LeaderEpoch,
                    Metadata = o.Metadata,
                    ErrorCode = (short)o.Error,
                });
            }

            response.Topics.Add(topicResponse);
        }

        return Respond(response);
    }

    private FetchedOffset Stable(string groupId, FetchedOffset offset, bool requireStable) =>
        requireStable && offset.Error == ErrorCode.None && _broker.Groups.Coordinator.HasPendingTransactionalOffset(groupId, offset.Topic, offset.Partition)
            ? offset with { Offset = -1, Error = ErrorCode.UnstableOffsetCommit }
            : offset;
}
