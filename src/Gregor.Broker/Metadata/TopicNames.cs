namespace Gregor.Broker.Metadata;

/// <summary>Kafka's topic naming rules (org.apache.kafka.common.internals.Topic).</summary>
public static class TopicNames
{
    public const int MaxNameLength = 249;

    public const string GroupMetadataTopicName = "__consumer_offsets";
    public const string TransactionStateTopicName = "__transaction_state";
    public const string ShareGroupStateTopicName = "__share_group_state";

    public static bool IsInternal(string name) =>
        name is GroupMetadataTopicName or TransactionStateTopicName or ShareGroupStateTopicName;

    /// <summary>Returns null when <paramref name="name"/> is a legal topic name, else Kafka's reason.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is illegal, it can't be empty";
        }

        if (name is "." or "..")
        {
            return "Topic name cannot be \".\" or \"..\"";
        }

        if (name.Length > MaxNameLength)
        {
            return $"Topic name is illegal, it can't be longer than {MaxNameLength} characters, topic name: {name}";
        }

        foreach (var c in name)
        {
            if (!(c is >= 'a' and <= 'z' || c is >= 'A' and <= 'Z' || c is >= '0' and <= '9' || c is '.' or '_' or '-'))
            {
                return $"Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
            }
        }

        return null;
    }

    /// <summary>'.' and '_' collide in metric names, so Kafka refuses two topics differing only by them.</summary>
    public static string UnifyCollisionChars(string name) => name.Replace('.', '_');
}
