using System.Diagnostics.CodeAnalysis;

namespace Gregor.Protocol;

/// <summary>Every API key the protocol definitions describe, looked up by key.</summary>
public static partial class ApiMessages
{
    private static readonly ApiMessageType[] Types = CreateTable();
    private static readonly ApiMessageType?[] ByKey = Index(Types);

    /// <summary>All API types, in key order.</summary>
    public static IReadOnlyList<ApiMessageType> All => Types;

    public static ApiMessageType Get(ApiKey apiKey) =>
        TryGet((short)apiKey, out var type) ? type : throw new ArgumentOutOfRangeException(nameof(apiKey), apiKey, "Unknown API key.");

    public static bool TryGet(short apiKey, [NotNullWhen(true)] out ApiMessageType? type)
    {
        type = apiKey >= 0 && apiKey < ByKey.Length ? ByKey[apiKey] : null;
        return type is not null;
    }

    public static IRequestMessage CreateRequest(ApiKey apiKey) => Get(apiKey).CreateRequest();

    public static IResponseMessage CreateResponse(ApiKey apiKey) => Get(apiKey).CreateResponse();

    public static short RequestHeaderVersion(ApiKey apiKey, short version) => Get(apiKey).RequestHeaderVersion(version);

    public static short ResponseHeaderVersion(ApiKey apiKey, short version) => Get(apiKey).ResponseHeaderVersion(version);

    private static ApiMessageType?[] Index(ApiMessageType[] types)
    {
        var max = 0;
        foreach (var type in types)
        {
            max = Math.Max(max, (short)type.ApiKey);
        }

        var byKey = new ApiMessageType?[max + 1];
        foreach (var type in types)
        {
            byKey[(short)type.ApiKey] = type;
        }

        return byKey;
    }
}
