// Fetch v4-17. Sessionless only: a client asking for a new session (KIP-227, epoch 0) gets session
// id 0, which the protocol defines as the server declining, so every fetch is a full fetch; an
// incremental fetch on an unknown session gets FETCH_SESSION_ID_NOT_FOUND. Topic ids from v13.
// read_committed reads up to the last stable offset and gets the aborted transactions overlapping
// the records returned (from the partition's .txnindex).
// Follower fetches (replica id >= 0; in ReplicaState from v15, KIP-903) read up to the log end and
// report the follower's position to the leader's replica manager (ISR, high watermark).
// A replica's Fetch for __cluster_metadata (topic id AAAAAAAAAAAAAAAAAAAAAQ) is a broker-only
// observer pulling the committed metadata log: MetadataLogServer answers it; clients (replica id
// -1) never see that topic.
using Gregor.Broker.Cluster;
using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.Fetch, 4, 17)]
public sealed class FetchHandler : ApiHandler<FetchRequest>
{
    private const int FinalEpoch = -1;

    private readonly BrokerContext _broker;
    private readonly ControllerChannel? _controller;

    public FetchHandler(BrokerContext broker, ControllerChannel? controller = null)
    {
        _broker = broker;
        _controller = controller;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (_controller is not null && (version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId) >= 0
            && MetadataLogServer.IsMetadataFetch(request, version))
        {
            return await _controller.MetadataLog.FetchAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var response = new FetchResponse { SessionId = 0 };
        if (request.SessionEpoch != FinalEpoch && request.SessionEpoch != 0)
        {
            response.ErrorCode = (short)ErrorCode.FetchSessionIdNotFound;
            return response;
        }

        var requests = new List<FetchPartitionRequest>();
        var topics = new List<(FetchResponse.FetchableTopicResponse Response, int First, int Count)>();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
            string name;
            ErrorCode topicError;
            if (version >= 13)
            {
                topicError = _broker.Metadata.TryGetTopic(topic.TopicId, out var metadata) ? ErrorCode.None : ErrorCode.UnknownTopicId;
                name = metadata?.Name ?? "";
            }
            else
            {
                name = topic.Topic;
                topicError = _broker.Metadata.TryGetTopic(name, out _) ? ErrorCode.None : ErrorCode.UnknownTopicOrPartition;
            }

            topics.Add((topicResponse, requests.Count, topic.Partitions.Count));
            foreach (var partition in topic.Partitions)
            {
                requests.Add(new FetchPartitionRequest
                {
                    Topic = name,
                    Partition = partition.Partition,
                    FetchOffset = partition.FetchOffset,
                    PartitionMaxBytes = partition.PartitionMaxBytes,
                    CurrentLeaderEpoch = partition.CurrentLeaderEpoch,
                    PresetError = topicError,
                });
            }
        }

        var fetchParams = new FetchParams(
            version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId,
            TimeSpan.FromMilliseconds(Math.Max(0, request.MaxWaitMs)),
            request.MinBytes,
            request.MaxBytes,
            request.IsolationLevel);
        var results = await _broker.ReplicaManager.FetchAsync(fetchParams, requests, cancellationToken).ConfigureAwait(false);

        foreach (var (topicResponse, first, count) in topics)
        {
            response.Responses.Add(topicResponse);
            for (var i = first; i < first + count; i++)
            {
                var result = results[i];
                if (result.Owner is not null)
                {
                    context.RegisterForDispose(result.Owner);
                }

                var partition = new FetchResponse.PartitionData
                {
                    PartitionIndex = requests[i].Partition,
                    ErrorCode = (short)result.ErrorCode,
                    HighWatermark = result.HighWatermark,
                    LastStableOffset = result.LastStableOffset,
                    LogStartOffset = result.LogStartOffset,
                    PreferredReadReplica = -1,
                    // Kafka sends an empty (not null) aborted list to read_committed consumers.
                    AbortedTransactions = request.IsolationLevel == 1 && result.ErrorCode == ErrorCode.None
                        ? result.AbortedTransactions?.Select(t => new FetchResponse.AbortedTransaction { ProducerId = t.ProducerId, FirstOffset = t.FirstOffset }).ToList() ?? []
                        : null,
                    Records = result.Records,
                };
                topicResponse.Partitions.Add(partition);
            }
        }

        return response;
    }
}
