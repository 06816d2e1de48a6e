using Gregor.Broker.Cluster;

namespace Gregor.Broker.Handlers;

/// <summary>Every API this broker serves. Adding an API: a new <c>NN_Name.cs</c> handler and one line here.</summary>
public static class BrokerHandlers
{
    /// <param name="controller">This node's way to the active controller (controller RPCs, forwarded admin writes); null in unit tests without a metadata quorum.</param>
    public static HandlerRegistry Create(BrokerContext broker, ControllerChannel? controller = null)
    {
        HandlerRegistry? registry = null;
        registry = new HandlerRegistry(
        [
            new ProduceHandler(broker),
            new FetchHandler(broker, controller),
            new ListOffsetsHandler(broker),
            new OffsetForLeaderEpochHandler(broker),
            new MetadataHandler(broker),
            new FindCoordinatorHandler(broker),
            new ApiVersionsHandler(() => registry!),
            new CreateTopicsHandler(broker, controller),
            new DeleteTopicsHandler(broker, controller),
            new InitProducerIdHandler(broker),
            new AddPartitionsToTxnHandler(broker),
            new AddOffsetsToTxnHandler(broker),
            new EndTxnHandler(broker),
            new WriteTxnMarkersHandler(broker),
            new TxnOffsetCommitHandler(broker),
            new DescribeConfigsHandler(broker),
            new DescribeClusterHandler(broker),

            // Group coordinator (issue 3).
            new OffsetCommitHandler(broker),
            new OffsetFetchHandler(broker),
            new JoinGroupHandler(broker),
            new HeartbeatHandler(broker),
            new LeaveGroupHandler(broker),
            new SyncGroupHandler(broker),
            new DescribeGroupsHandler(broker),
            new ListGroupsHandler(broker),
            new DeleteGroupsHandler(broker),
            new OffsetDeleteHandler(broker),
            new ConsumerGroupHeartbeatHandler(broker),
            new ConsumerGroupDescribeHandler(broker),
            new DescribeProducersHandler(broker),
            new DescribeTransactionsHandler(broker),
            new ListTransactionsHandler(broker),

            // Data lifecycle and topic administration.
            new DeleteRecordsHandler(broker),
            new AlterConfigsHandler(broker, controller),
            new DescribeLogDirsHandler(broker),
            new CreatePartitionsHandler(broker, controller),
            new IncrementalAlterConfigsHandler(broker, controller),

            // Cluster (issue 5): leader elections, and the controller RPCs brokers send each other.
            new ElectLeadersHandler(controller),
            new AlterPartitionHandler(controller),
            new BrokerRegistrationHandler(broker, controller),
            new BrokerHeartbeatHandler(controller),
            new AllocateProducerIdsHandler(controller),
            new FetchSnapshotHandler(controller),
        ]);
        return registry;
    }
}
