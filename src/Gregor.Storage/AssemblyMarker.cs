namespace Gregor.Storage;

internal static class AssemblyMarker
{
}
