using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Xunit;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>What may and may not be written in a version, and the header versions of each API.</summary>
public sealed class VersionRulesTests
{
    [Fact]
    public void NonDefaultFieldMissingFromTheVersionIsRefused()
    {
        var produce = new ProduceRequest { TransactionalId = "tx", Acks = 1 };
        var e = Assert.Throws<UnsupportedVersionException>(() => Codec.Write(produce, 2));
        Assert.Contains("TransactionalId", e.Message, StringComparison.Ordinal);
        produce.TransactionalId = null;
        Assert.Equal(2 + 4 + 4, Codec.Write(produce, 2).Length);

        var listOffsets = new ListOffsetsRequest { IsolationLevel = 1 };
        Assert.Throws<UnsupportedVersionException>(() => Codec.Write(listOffsets, 1));
        Assert.NotEmpty(Codec.Write(listOffsets, 2));
    }

    [Fact]
    public void IgnorableFieldMissingFromTheVersionIsDropped()
    {
        var request = new ApiVersionsRequest { ClientSoftwareName = "kcat", ClientSoftwareVersion = "1.7.1" };
        Assert.Empty(Codec.Write(request, 2));
    }

    [Fact]
    public void NullInANonNullableVersionIsRefused()
    {
        var metadata = new MetadataRequest { Topics = null };
        Assert.Throws<UnsupportedVersionException>(() => Codec.Write(metadata, 0));
        Assert.Equal(new byte[] { 0xff, 0xff, 0xff, 0xff }, Codec.Write(metadata, 1));
    }

    [Fact]
    public void NullWhereTheVersionForbidsItIsAProtocolError()
    {
        // MetadataRequest v0: a topics array of length -1.
        Assert.Throws<ProtocolException>(() => Codec.Read<MetadataRequest>(new byte[] { 0xff, 0xff, 0xff, 0xff }, 0));
    }

    [Fact]
    public void VersionsOutsideTheDefinitionAreRefused()
    {
        Assert.Throws<UnsupportedVersionException>(() => new ProduceRequest().Size(12));
        Assert.Throws<UnsupportedVersionException>(() => Codec.Read<ProduceRequest>(new byte[64], -1));
    }

    [Fact]
    public void UnknownTaggedFieldsCannotBeWrittenInAnInflexibleVersion()
    {
        var request = new ApiVersionsRequest { UnknownTaggedFields = new() { new RawTaggedField(4, new byte[] { 1 }) } };
        Assert.Throws<UnsupportedVersionException>(() => Codec.Write(request, 2));
        // Empty compact name and version, one tagged field: tag 4, one byte of data.
        Assert.Equal(new byte[] { 1, 1, 1, 4, 1, 1 }, Codec.Write(request, 3));
    }

    [Theory]
    [InlineData(ApiKey.ApiVersions, 0, 1, 0)]
    [InlineData(ApiKey.ApiVersions, 3, 2, 0)]
    [InlineData(ApiKey.ApiVersions, 4, 2, 0)]
    [InlineData(ApiKey.Produce, 8, 1, 0)]
    [InlineData(ApiKey.Produce, 9, 2, 1)]
    [InlineData(ApiKey.Fetch, 11, 1, 0)]
    [InlineData(ApiKey.Fetch, 12, 2, 1)]
    [InlineData(ApiKey.Metadata, 12, 2, 1)]
    [InlineData(ApiKey.ControlledShutdown, 0, 0, 0)]
    [InlineData(ApiKey.ControlledShutdown, 1, 1, 0)]
    [InlineData(ApiKey.ControlledShutdown, 3, 2, 1)]
    public void HeaderVersions(ApiKey key, short version, short requestHeader, short responseHeader)
    {
        Assert.Equal(requestHeader, ApiMessages.RequestHeaderVersion(key, version));
        Assert.Equal(responseHeader, ApiMessages.ResponseHeaderVersion(key, version));
    }

    [Fact]
    public void ApiKeyNumbersAreKafkas()
    {
        Assert.Equal(0, (short)ApiKey.Produce);
        Assert.Equal(1, (short)ApiKey.Fetch);
        Assert.Equal(3, (short)ApiKey.Metadata);
        Assert.Equal(18, (short)ApiKey.ApiVersions);
        Assert.Equal(60, (short)ApiKey.DescribeCluster);
        Assert.Equal(68, (short)ApiKey.ConsumerGroupHeartbeat);
        Assert.Equal("Produce", ApiMessages.Get(ApiKey.Produce).Name);
        Assert.Equal(9, ApiMessages.Get(ApiKey.Produce).FlexibleFromVersion);
        Assert.False(ApiMessages.TryGet(-1, out _));
        Assert.False(ApiMessages.TryGet(10_000, out _));
    }
}
