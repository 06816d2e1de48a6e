namespace Gregor.Protocol.Records;

/// <summary>
/// The type in a control record's key (int16 version, int16 type). Transaction markers are
/// <see cref="Abort"/> and <see cref="Commit"/>; the rest belong to the KRaft metadata log.
/// The numbers are persisted: never change them.
/// </summary>
public enum ControlRecordType : short
{
    Abort = 0,
    Commit = 1,
    LeaderChange = 2,
    SnapshotHeader = 3,
    SnapshotFooter = 4,
    KRaftVersion = 5,
    KRaftVoters = 6,
}
