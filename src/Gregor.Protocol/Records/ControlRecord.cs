using System.Buffers.Binary;

namespace Gregor.Protocol.Records;

/// <summary>
/// Control records (batches with the control flag): the key is int16 version + int16 type; a
/// transaction marker's value (EndTxnMarker) is int16 version + int32 coordinator epoch.
/// </summary>
public static class ControlRecord
{
    public const short CurrentKeyVersion = 0;
    public const short CurrentEndTxnMarkerVersion = 0;
    public const int KeySize = 4;
    public const int EndTxnMarkerValueSize = 6;

    public static bool TryReadType(ReadOnlySpan<byte> key, out ControlRecordType type)
    {
        type = default;
        if (key.Length < KeySize || BinaryPrimitives.ReadInt16BigEndian(key) < 0)
        {
            return false;
        }

        type = (ControlRecordType)BinaryPrimitives.ReadInt16BigEndian(key[2..]);
        return true;
    }

    public static bool TryReadCoordinatorEpoch(ReadOnlySpan<byte> endTxnMarkerValue, out int coordinatorEpoch)
    {
        coordinatorEpoch = 0;
        if (endTxnMarkerValue.Length < EndTxnMarkerValueSize || BinaryPrimitives.ReadInt16BigEndian(endTxnMarkerValue) < 0)
        {
            return false;
        }

        coordinatorEpoch = BinaryPrimitives.ReadInt32BigEndian(endTxnMarkerValue[2..]);
        return true;
    }

    public static byte[] Key(ControlRecordType type)
    {
        var key = new byte[KeySize];
        BinaryPrimitives.WriteInt16BigEndian(key, CurrentKeyVersion);
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), (short)type);
        return key;
    }

    public static byte[] EndTxnMarkerValue(int coordinatorEpoch)
    {
        var value = new byte[EndTxnMarkerValueSize];
        BinaryPrimitives.WriteInt16BigEndian(value, CurrentEndTxnMarkerVersion);
        BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(2), coordinatorEpoch);
        return value;
    }
}
