using System.Reflection;
using Gregor.Protocol;

namespace Gregor.Broker.Dispatch;

/// <summary>
/// Responses that answer a whole request with one error code: the APIs whose response carries a
/// top-level error code, from the version that has it (the message definitions' facts). A handler
/// that fails inside the broker answers with one of these, as Kafka's request objects build their
/// error responses, so the client retries or reports the code instead of losing its connection.
/// </summary>
internal static class ErrorResponses
{
    /// <summary>API key → the versions whose response has a top-level <c>ErrorCode</c>.</summary>
    private static readonly Dictionary<ApiKey, (short From, short To)> TopLevelErrorVersions = new()
    {
        [ApiKey.Fetch] = (7, short.MaxValue),
        [ApiKey.OffsetFetch] = (2, 7),
        [ApiKey.FindCoordinator] = (0, 3),
        [ApiKey.JoinGroup] = (0, short.MaxValue),
        [ApiKey.Heartbeat] = (0, short.MaxValue),
        [ApiKey.LeaveGroup] = (0, short.MaxValue),
        [ApiKey.SyncGroup] = (0, short.MaxValue),
        [ApiKey.ListGroups] = (0, short.MaxValue),
        [ApiKey.InitProducerId] = (0, short.MaxValue),
        [ApiKey.AddPartitionsToTxn] = (4, short.MaxValue),
        [ApiKey.AddOffsetsToTxn] = (0, short.MaxValue),
        [ApiKey.EndTxn] = (0, short.MaxValue),
        [ApiKey.DescribeLogDirs] = (3, short.MaxValue),
        [ApiKey.ElectLeaders] = (1, short.MaxValue),
        [ApiKey.OffsetDelete] = (0, short.MaxValue),
        [ApiKey.AlterPartition] = (0, short.MaxValue),
        [ApiKey.FetchSnapshot] = (0, short.MaxValue),
        [ApiKey.DescribeCluster] = (0, short.MaxValue),
        [ApiKey.BrokerRegistration] = (0, short.MaxValue),
        [ApiKey.BrokerHeartbeat] = (0, short.MaxValue),
        [ApiKey.ListTransactions] = (0, short.MaxValue),
        [ApiKey.AllocateProducerIds] = (0, short.MaxValue),
        [ApiKey.ConsumerGroupHeartbeat] = (0, short.MaxValue),
    };

    public static IResponseMessage? TryCreate(ApiKey apiKey, short version, ErrorCode error)
    {
        if (!TopLevelErrorVersions.TryGetValue(apiKey, out var range) || version < range.From || version > range.To)
        {
            return null;
        }

        var response = ApiMessages.CreateResponse(apiKey);
        var property = response.GetType().GetProperty("ErrorCode", BindingFlags.Public | BindingFlags.Instance);
        if (property is null || property.PropertyType != typeof(short))
        {
            return null;
        }

        property.SetValue(response, (short)error);
        return response;
    }
}
