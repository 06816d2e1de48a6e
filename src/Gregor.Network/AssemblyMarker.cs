namespace Gregor.Network;

internal static class AssemblyMarker
{
}
