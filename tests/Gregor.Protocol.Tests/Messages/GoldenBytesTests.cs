using System.Runtime.InteropServices;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Xunit;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>Byte layouts written out by hand from the protocol specification.</summary>
public sealed class GoldenBytesTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static byte[] Ascii(string text) => System.Text.Encoding.ASCII.GetBytes(text);

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Frame(IKafkaMessage header, short headerVersion, IKafkaMessage body, short version)
    {
        var buffer = new byte[header.Size(headerVersion) + body.Size(version)];
        var writer = new KafkaWriter(buffer);
        header.Write(ref writer, headerVersion);
        body.Write(ref writer, version);
        Assert.Equal(buffer.Length, writer.Position);
        return buffer;
    }

    [Fact]
    public void ApiVersionsRequestV3WithClientSoftware()
    {
        var header = new RequestHeader { RequestApiKey = 18, RequestApiVersion = 3, CorrelationId = 1, ClientId = "rdkafka" };
        var body = new ApiVersionsRequest { ClientSoftwareName = "librdkafka", ClientSoftwareVersion = "2.16.0" };
        var headerVersion = ApiMessages.RequestHeaderVersion(ApiKey.ApiVersions, 3);
        Assert.Equal(2, headerVersion);

        var expected = Concat(
            Hex("0012 0003 00000001"),
            Hex("0007"), Ascii("rdkafka"), // header v2 keeps the int16-length client id (flexibleVersions none)
            Hex("00"), // header tagged fields
            Hex("0b"), Ascii("librdkafka"), // compact string: length + 1
            Hex("07"), Ascii("2.16.0"),
            Hex("00"));
        Assert.Equal(expected, Frame(header, headerVersion, body, 3));

        var reader = new KafkaReader(expected);
        var readHeader = new RequestHeader();
        readHeader.Read(ref reader, 2);
        var readBody = new ApiVersionsRequest();
        readBody.Read(ref reader, 3);
        Assert.True(reader.IsAtEnd);
        Assert.Equal(18, readHeader.RequestApiKey);
        Assert.Equal("rdkafka", readHeader.ClientId);
        Assert.Equal("librdkafka", readBody.ClientSoftwareName);
        Assert.Equal("2.16.0", readBody.ClientSoftwareVersion);
    }

    [Fact]
    public void MetadataRequestV12WithNullTopics()
    {
        var body = new MetadataRequest { Topics = null, AllowAutoTopicCreation = true, IncludeTopicAuthorizedOperations = false };
        // Topics: compact null array (0); AllowAutoTopicCreation 1; IncludeTopicAuthorizedOperations 0; no tagged fields.
        var expected = Hex("00 01 00 00");
        Assert.Equal(expected, Codec.Write(body, 12));

        var read = Codec.Read<MetadataRequest>(expected, 12);
        Assert.Null(read.Topics);
        Assert.True(read.AllowAutoTopicCreation);
    }

    [Fact]
    public void MetadataRequestV12WithTopicNameAndId()
    {
        var id = new Uuid(0x0102030405060708, 0x090a0b0c0d0e0f10);
        var body = new MetadataRequest
        {
            Topics = new() { new MetadataRequest.MetadataRequestTopic { TopicId = id, Name = "orders" } },
            AllowAutoTopicCreation = false,
        };
        var expected = Concat(
            Hex("02"), // one topic
            Hex("0102030405060708 090a0b0c0d0e0f10"),
            Hex("07"), Ascii("orders"),
            Hex("00"), // topic tagged fields
            Hex("00 00 00"));
        Assert.Equal(expected, Codec.Write(body, 12));
    }

    [Fact]
    public void ProduceRequestV9()
    {
        var records = Hex("aa bb cc");
        var body = new ProduceRequest
        {
            TransactionalId = null,
            Acks = -1,
            TimeoutMs = 30000,
            TopicData =
            {
                new ProduceRequest.TopicProduceData
                {
                    Name = "t",
                    PartitionData = { new ProduceRequest.PartitionProduceData { Index = 0, Records = records } },
                },
            },
        };
        var expected = Hex(
            "00" + // TransactionalId: compact null
            "ffff" + // Acks -1
            "00007530" + // TimeoutMs 30000
            "02" + "02 74" + // one topic, named "t"
            "02" + "00000000" + // one partition, index 0
            "04 aabbcc" + // records: compact bytes, length 3 + 1
            "00" + "00" + "00"); // partition, topic and request tagged fields
        Assert.Equal(expected, Codec.Write(body, 9));

        var read = Codec.Read<ProduceRequest>(expected, 9);
        Assert.Equal(-1, read.Acks);
        Assert.Equal(30000, read.TimeoutMs);
        Assert.Null(read.TransactionalId);
        Assert.Equal("t", read.TopicData[0].Name);
        Assert.Equal(records, read.TopicData[0].PartitionData[0].Records!.Value.ToArray());
    }

    [Fact]
    public void ProduceRecordsAreASliceOfTheRequestBuffer()
    {
        var frame = Hex("00 ffff 00007530 02 0274 02 00000000 04aabbcc 00 00 00");
        var read = Codec.Read<ProduceRequest>(frame, 9);
        var records = read.TopicData[0].PartitionData[0].Records!.Value;
        Assert.True(MemoryMarshal.TryGetArray(records, out var segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(frame.Length - 6, segment.Offset);
        Assert.Equal(3, segment.Count);
    }

    [Fact]
    public void ProduceRequestV3UsesClassicLengths()
    {
        var body = new ProduceRequest
        {
            TransactionalId = "tx",
            Acks = 1,
            TimeoutMs = 1000,
            TopicData = { new ProduceRequest.TopicProduceData { Name = "t", PartitionData = { new ProduceRequest.PartitionProduceData { Index = 2, Records = null } } } },
        };
        var expected = Hex("0002 7478" + "0001" + "000003e8" + "00000001" + "0001 74" + "00000001" + "00000002" + "ffffffff");
        Assert.Equal(expected, Codec.Write(body, 3));
        Assert.Null(Codec.Read<ProduceRequest>(expected, 3).TopicData[0].PartitionData[0].Records);
    }

    [Fact]
    public void ApiVersionsResponseV3WithKnownAndUnknownTaggedFields()
    {
        var expected = Hex(
            "0000" + // ErrorCode
            "02" + "0012 0000 0004 00" + // one ApiVersion: key 18, 0..4, no tagged fields
            "00000000" + // ThrottleTimeMs
            "03" + // three tagged fields, ascending
            "03 01 01" + // tag 3 (ZkMigrationReady) = true
            "05 02 6869" + // tag 5, unknown, "hi"
            "09 00"); // tag 9, unknown, empty
        var read = Codec.Read<ApiVersionsResponse>(expected, 3);
        Assert.True(read.ZkMigrationReady);
        Assert.Equal(-1, read.FinalizedFeaturesEpoch);
        Assert.Equal(18, read.ApiKeys[0].ApiKey);
        Assert.Equal(4, read.ApiKeys[0].MaxVersion);
        Assert.NotNull(read.UnknownTaggedFields);
        Assert.Equal(new[] { 5, 9 }, read.UnknownTaggedFields.Select(f => f.Tag));
        Assert.Equal(Ascii("hi"), read.UnknownTaggedFields[0].Data);
        Assert.Equal(expected, Codec.Write(read, 3));

        // Known tags merge with unknown ones in tag order: tag 1 goes before the unknown tag 5.
        read.FinalizedFeaturesEpoch = 7;
        var withEpoch = Codec.Write(read, 3);
        Assert.Equal(
            Hex("0000 02 0012 0000 0004 00 00000000 04 01 08 0000000000000007 03 01 01 05 02 6869 09 00"),
            withEpoch);
    }

    [Fact]
    public void ApiVersionsResponseV0()
    {
        var body = new ApiVersionsResponse
        {
            ErrorCode = 35,
            ApiKeys = { new ApiVersionsResponse.ApiVersion { ApiKey = 18, MinVersion = 0, MaxVersion = 4 } },
            ThrottleTimeMs = 100, // ignorable: dropped silently in v0
        };
        Assert.Equal(Hex("0023 00000001 0012 0000 0004"), Codec.Write(body, 0));
    }

    [Fact]
    public void ResponseHeaders()
    {
        var header = new ResponseHeader { CorrelationId = 0x01020304 };
        Assert.Equal(Hex("01020304"), Codec.Write(header, 0));
        Assert.Equal(Hex("01020304 00"), Codec.Write(header, 1));
    }

    [Fact]
    public void RequestHeaderV0HasNoClientId()
    {
        var header = new RequestHeader { RequestApiKey = 7, RequestApiVersion = 0, CorrelationId = 9, ClientId = "ignored-in-v0" };
        Assert.Equal(Hex("0007 0000 00000009"), Codec.Write(header, 0));
        Assert.Equal(Hex("0007 0000 00000009 ffff"), Codec.Write(new RequestHeader { RequestApiKey = 7, CorrelationId = 9, ClientId = null }, 1));
    }
}
