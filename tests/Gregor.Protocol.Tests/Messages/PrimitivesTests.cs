using Gregor.Protocol.Primitives;
using Xunit;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>Bounds and length checks of the primitive reader: forged lengths never allocate or overrun.</summary>
public sealed class PrimitivesTests
{
    [Fact]
    public void ArrayLengthBeyondTheBufferIsRefused()
    {
        var reader = new KafkaReader(new byte[] { 0x7f, 0xff, 0xff, 0xff, 0 });
        var e = Assert.Throws<ProtocolException>(() => reader.ReadArrayLength(compact: false));
        Assert.Contains("2147483647", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NegativeLengthsAreRefused()
    {
        var reader = new KafkaReader(new byte[] { 0xff, 0xfe, 0x41 });
        try
        {
            reader.ReadNullableString(compact: false);
            Assert.Fail("length -2 was accepted");
        }
        catch (ProtocolException)
        {
        }

        var nullString = new KafkaReader(new byte[] { 0x00 });
        try
        {
            nullString.ReadString(compact: true);
            Assert.Fail("a compact null was accepted as a non-nullable string");
        }
        catch (ProtocolException)
        {
        }
    }

    [Fact]
    public void OverlongVarintIsAProtocolError()
    {
        var reader = new KafkaReader(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 });
        try
        {
            reader.ReadUnsignedVarint();
            Assert.Fail("a six-byte varint was accepted");
        }
        catch (ProtocolException)
        {
        }
    }

    [Fact]
    public void TaggedFieldSizeBeyondTheBufferIsRefused()
    {
        var reader = new KafkaReader(new byte[] { 0x10, 0x00 });
        try
        {
            reader.ReadTaggedFieldSize();
            Assert.Fail("tagged field of 16 bytes accepted in a 2-byte buffer");
        }
        catch (ProtocolException)
        {
        }
    }

    [Fact]
    public void WriterRefusesToOverrun()
    {
        var buffer = new byte[3];
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(1);
        try
        {
            writer.WriteInt32(5);
            Assert.Fail("wrote past the end");
        }
        catch (ProtocolException)
        {
        }
    }

    [Fact]
    public void StringsAreMeasuredInUtf8Bytes()
    {
        Assert.Equal(1 + 5, SizeOf.String("€ß", compact: true));
        var buffer = new byte[6];
        var writer = new KafkaWriter(buffer);
        writer.WriteString("€ß", compact: true);
        Assert.Equal(new byte[] { 6, 0xe2, 0x82, 0xac, 0xc3, 0x9f }, buffer);
        var reader = new KafkaReader(buffer);
        Assert.Equal("€ß", reader.ReadString(compact: true));
    }

    [Fact]
    public void StringsLongerThan32767BytesAreRefused()
    {
        // Compact length 32769 (varint 81 80 02) announces 32768 bytes.
        var bytes = new byte[3 + 32768];
        bytes[0] = 0x81;
        bytes[1] = 0x80;
        bytes[2] = 0x02;
        var reader = new KafkaReader(bytes);
        try
        {
            reader.ReadString(compact: true);
            Assert.Fail("a 32768-byte string was accepted");
        }
        catch (ProtocolException)
        {
        }

        var buffer = new byte[40000];
        var writer = new KafkaWriter(buffer);
        try
        {
            writer.WriteString(new string('x', 32768), compact: true);
            Assert.Fail("a 32768-byte string was written");
        }
        catch (ProtocolException)
        {
        }
    }
}
