namespace Gregor.Protocol.Primitives;

/// <summary>
/// A tagged field this version of Gregor does not know (KIP-482): kept as raw bytes on read and
/// written back unchanged, so newer clients' extensions survive a pass through the broker.
/// </summary>
public sealed record RawTaggedField(int Tag, byte[] Data);
