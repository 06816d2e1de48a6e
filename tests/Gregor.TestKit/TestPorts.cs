using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Gregor.TestKit;

/// <summary>
/// Loopback ports for listeners a test must name before they bind (Raft voters, restarted nodes).
/// A port bound to 0 and released is taken straight back from the kernel's ephemeral range, where
/// any outgoing connection or other <c>bind(0)</c> can claim it before the node binds ("Address
/// already in use" on a loaded machine). These come from below that range instead, where the
/// kernel never hands out ports on its own: each is checked free by binding it, and a process-wide
/// counter from a random start keeps tests in one run (and parallel test processes) apart.
/// </summary>
public static class TestPorts
{
    private static readonly (int Low, int High) Range = ChooseRange();
    private static int _next = Random.Shared.Next(Range.Low, Range.High);

    /// <summary><paramref name="count"/> distinct loopback ports that were free a moment ago.</summary>
    public static int[] Reserve(int count)
    {
        var ports = new int[count];
        for (var i = 0; i < count; i++)
        {
            ports[i] = Next();
        }

        return ports;
    }

    private static int Next()
    {
        var span = Range.High - Range.Low;
        for (var attempt = 0; attempt < span; attempt++)
        {
            var port = Range.Low + (int)((uint)Interlocked.Increment(ref _next) % (uint)span);
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port in {Range.Low}-{Range.High}.");
    }

    private static bool IsFree(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // Linux's ephemeral range is usually 32768-60999; use the ports below it (from 10000, clear of
    // well-known services), or above it when it starts too low to leave room.
    private static (int Low, int High) ChooseRange()
    {
        var (low, high) = (32768, 60999);
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            low = int.Parse(parts[0], CultureInfo.InvariantCulture);
            high = int.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }

        return low - 10000 >= 2000 ? (10000, low) : (Math.Min(high + 1, 65000), 65535);
    }
}
