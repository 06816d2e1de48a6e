using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;

namespace Gregor.Metadata.Records;

/// <summary>One record of the metadata log: a KRaft record message and the version it is written in.</summary>
public readonly record struct MetadataRecord(IKafkaMessage Message, short Version)
{
    /// <summary>Wraps a record in the highest version Gregor writes.</summary>
    public static MetadataRecord Of(IKafkaMessage message) => new(message, message.HighestSupportedVersion);

    public short RecordType => MetadataRecordSerde.RecordTypeOf(Message);
}

/// <summary>
/// Kafka's metadata record framing (ApiMessageAndVersion): an unsigned-varint frame version (1),
/// the record type and the record version as unsigned varints, then the record body. A log entry
/// (one Raft append, applied atomically as KRaft applies a batch) is a count followed by
/// length-prefixed records.
/// </summary>
public static class MetadataRecordSerde
{
    private const uint FrameVersion = 1;

    public static short RecordTypeOf(IKafkaMessage message) => message switch
    {
        RegisterBrokerRecord => RegisterBrokerRecord.RecordType,
        TopicRecord => TopicRecord.RecordType,
        PartitionRecord => PartitionRecord.RecordType,
        ConfigRecord => ConfigRecord.RecordType,
        PartitionChangeRecord => PartitionChangeRecord.RecordType,
        FenceBrokerRecord => FenceBrokerRecord.RecordType,
        UnfenceBrokerRecord => UnfenceBrokerRecord.RecordType,
        RemoveTopicRecord => RemoveTopicRecord.RecordType,
        FeatureLevelRecord => FeatureLevelRecord.RecordType,
        ProducerIdsRecord => ProducerIdsRecord.RecordType,
        NoOpRecord => NoOpRecord.RecordType,
        RegisterControllerRecord => RegisterControllerRecord.RecordType,
        _ => throw new ArgumentException($"{message.GetType().Name} is not a metadata record.", nameof(message)),
    };

    private static IKafkaMessage Create(uint recordType) => (short)Math.Min(recordType, (uint)short.MaxValue) switch
    {
        RegisterBrokerRecord.RecordType => new RegisterBrokerRecord(),
        TopicRecord.RecordType => new TopicRecord(),
        PartitionRecord.RecordType => new PartitionRecord(),
        ConfigRecord.RecordType => new ConfigRecord(),
        PartitionChangeRecord.RecordType => new PartitionChangeRecord(),
        FenceBrokerRecord.RecordType => new FenceBrokerRecord(),
        UnfenceBrokerRecord.RecordType => new UnfenceBrokerRecord(),
        RemoveTopicRecord.RecordType => new RemoveTopicRecord(),
        FeatureLevelRecord.RecordType => new FeatureLevelRecord(),
        ProducerIdsRecord.RecordType => new ProducerIdsRecord(),
        NoOpRecord.RecordType => new NoOpRecord(),
        RegisterControllerRecord.RecordType => new RegisterControllerRecord(),
        _ => throw new ProtocolException($"Unknown metadata record type {recordType}."),
    };

    public static int SizeOf(MetadataRecord record) =>
        SizeOf_Unsigned(FrameVersion) + SizeOf_Unsigned((uint)record.RecordType) + SizeOf_Unsigned((uint)record.Version)
        + record.Message.Size(record.Version);

    public static byte[] Serialize(MetadataRecord record)
    {
        var buffer = new byte[SizeOf(record)];
        var writer = new KafkaWriter(buffer);
        Write(ref writer, record);
        return buffer;
    }

    public static MetadataRecord Deserialize(ReadOnlyMemory<byte> bytes)
    {
        var reader = new KafkaReader(bytes);
        return Read(ref reader, bytes.Length);
    }

    /// <summary>Encodes the records of one log entry.</summary>
    public static byte[] SerializeEntry(IReadOnlyList<MetadataRecord> records)
    {
        var size = SizeOf_Unsigned((uint)records.Count);
        foreach (var record in records)
        {
            var recordSize = SizeOf(record);
            size += SizeOf_Unsigned((uint)recordSize) + recordSize;
        }

        var buffer = new byte[size];
        var writer = new KafkaWriter(buffer);
        writer.WriteUnsignedVarint((uint)records.Count);
        foreach (var record in records)
        {
            writer.WriteUnsignedVarint((uint)SizeOf(record));
            Write(ref writer, record);
        }

        return buffer;
    }

    public static List<MetadataRecord> DeserializeEntry(ReadOnlyMemory<byte> entry)
    {
        var reader = new KafkaReader(entry);
        var count = reader.ReadUnsignedVarint();
        var records = new List<MetadataRecord>((int)Math.Min(count, 1024));
        for (var i = 0u; i < count; i++)
        {
            var length = (int)reader.ReadUnsignedVarint();
            var end = reader.Position + length;
            var record = Read(ref reader, length);
            if (reader.Position != end)
            {
                throw new ProtocolException($"A metadata record of {length} bytes decoded to a different length.");
            }

            records.Add(record);
        }

        if (reader.Position != entry.Length)
        {
            throw new ProtocolException("Trailing bytes after the last metadata record of an entry.");
        }

        return records;
    }

    private static void Write(ref KafkaWriter writer, MetadataRecord record)
    {
        writer.WriteUnsignedVarint(FrameVersion);
        writer.WriteUnsignedVarint((uint)record.RecordType);
        writer.WriteUnsignedVarint((uint)record.Version);
        record.Message.Write(ref writer, record.Version);
    }

    private static MetadataRecord Read(ref KafkaReader reader, int length)
    {
        var start = reader.Position;
        var frame = reader.ReadUnsignedVarint();
        if (frame != FrameVersion)
        {
            throw new ProtocolException($"Unsupported metadata record frame version {frame}.");
        }

        var message = Create(reader.ReadUnsignedVarint());
        var version = (short)reader.ReadUnsignedVarint();
        message.Read(ref reader, version);
        if (reader.Position - start > length)
        {
            throw new ProtocolException("Metadata record overruns its length.");
        }

        return new MetadataRecord(message, version);
    }

    private static int SizeOf_Unsigned(uint value) => Gregor.Protocol.Primitives.SizeOf.UnsignedVarint(value);
}
