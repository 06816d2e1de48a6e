namespace Gregor.TestKit;

internal static class AssemblyMarker
{
}
