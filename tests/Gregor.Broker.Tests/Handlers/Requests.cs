using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>Requests the handler tests send, built with the generated messages.</summary>
internal static class Requests
{
    public static byte[] Batch(int records, string prefix = "value", long timestamp = 1_700_000_000_000)
    {
        var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(timestamp + i, System.Text.Encoding.UTF8.GetBytes($"key-{i}"), System.Text.Encoding.UTF8.GetBytes($"{prefix}-{i}"));
        }

        return builder.Build();
    }

    public static ProduceRequest Produce(string topic, int partition, byte[]? records, short acks = -1) => new()
    {
        Acks = acks,
        TimeoutMs = 30_000,
        TopicData =
        [
            new ProduceRequest.TopicProduceData
            {
                Name = topic,
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = records }],
            },
        ],
    };

    public static FetchRequest Fetch(string topic, Uuid topicId, int partition, long offset, int maxWaitMs = 0, int minBytes = 1, int partitionMaxBytes = 1 << 20) => new()
    {
        ReplicaId = -1,
        MaxWaitMs = maxWaitMs,
        MinBytes = minBytes,
        MaxBytes = 50 << 20,
        SessionId = 0,
        SessionEpoch = -1,
        Topics =
        [
            new FetchRequest.FetchTopic
            {
                Topic = topic,
                TopicId = topicId,
                Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = partitionMaxBytes }],
            },
        ],
    };

    public static ListOffsetsRequest ListOffsets(string topic, int partition, long timestamp) => new()
    {
        ReplicaId = -1,
        Topics =
        [
            new ListOffsetsRequest.ListOffsetsTopic
            {
                Name = topic,
                Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = partition, Timestamp = timestamp }],
            },
        ],
    };

    public static CreateTopicsRequest CreateTopic(string name, int partitions = 1, short replicationFactor = 1, bool validateOnly = false, params (string Name, string? Value)[] configs)
    {
        var topic = new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = partitions, ReplicationFactor = replicationFactor };
        foreach (var (configName, value) in configs)
        {
            topic.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = configName, Value = value });
        }

        return new CreateTopicsRequest { Topics = [topic], timeoutMs = 10_000, validateOnly = validateOnly };
    }

    public static MetadataRequest Metadata(bool allowAutoTopicCreation, params string[] topics) => new()
    {
        Topics = topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
        AllowAutoTopicCreation = allowAutoTopicCreation,
    };
}
