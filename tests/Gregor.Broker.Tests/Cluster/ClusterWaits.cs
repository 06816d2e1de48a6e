namespace Gregor.Broker.Tests.Cluster;

/// <summary>Polling for cluster state that converges through the metadata log.</summary>
internal static class ClusterWaits
{
    /// <summary>Polls <paramref name="condition"/> every 50 ms; false when it did not hold within the timeout (10 s by default).</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
