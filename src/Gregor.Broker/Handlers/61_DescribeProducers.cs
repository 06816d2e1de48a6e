// DescribeProducers v0 (KIP-664): the active producers of each partition this broker leads, from
// the partition's producer state (what `kafka-transactions.sh describe-producers` shows).
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DescribeProducers, 0, 0)]
public sealed class DescribeProducersHandler : ApiHandler<DescribeProducersRequest>
{
    private readonly BrokerContext _broker;

    public DescribeProducersHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DescribeProducersRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeProducersResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (var index in topic.PartitionIndexes)
            {
                var partitionResponse = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(partitionResponse);
                var partition = _broker.ReplicaManager.GetPartition(topic.Name, index);
                if (partition is null || partition.IsDeleted)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                if (!partition.IsLeader)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                foreach (var producer in partition.Log.ActiveProducers)
                {
                    partitionResponse.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = producer.ProducerId,
                        ProducerEpoch = producer.ProducerEpoch,
                        LastSequence = producer.LastSequence,
                        LastTimestamp = producer.LastTimestamp,
                        CoordinatorEpoch = producer.CoordinatorEpoch,
                        CurrentTxnStartOffset = producer.CurrentTxnStartOffset,
                    });
                }
            }
        }

        return Respond(response);
    }
}
