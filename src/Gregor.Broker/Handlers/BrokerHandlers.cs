namespace Gregor.Broker.Handlers;

/// <summary>Every API this broker serves. Adding an API: a new <c>NN_Name.cs</c> handler and one line here.</summary>
public static class BrokerHandlers
{
    public static HandlerRegistry Create(BrokerContext broker)
    {
        HandlerRegistry? registry = null;
        registry = new HandlerRegistry(
        [
            new ProduceHandler(broker),
            new FetchHandler(broker),
            new ListOffsetsHandler(broker),
            new MetadataHandler(broker),
            new FindCoordinatorHandler(broker),
            new ApiVersionsHandler(() => registry!),
            new CreateTopicsHandler(broker),
            new DeleteTopicsHandler(broker),
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
            new AlterConfigsHandler(broker),
            new DescribeLogDirsHandler(broker),
            new CreatePartitionsHandler(broker),
            new IncrementalAlterConfigsHandler(broker),
        ]);
        return registry;
    }
}
