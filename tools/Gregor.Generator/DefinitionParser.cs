using System.Globalization;

namespace Gregor.Generator;

/// <summary>
/// Parses the definition format described in <c>docs/dev/protocol-definitions.md</c>: a header line,
/// then one line per field, nested fields indented two spaces deeper than their parent, then any
/// <c>common</c> structs. Lines starting with <c>#</c> are comments.
/// </summary>
public static class DefinitionParser
{
    public static MessageDefinition ParseFile(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

    public static List<MessageDefinition> ParseDirectory(string directory)
    {
        var files = Directory.GetFiles(directory, "*.def");
        Array.Sort(files, StringComparer.Ordinal);
        var messages = new List<MessageDefinition>(files.Length);
        foreach (var file in files)
        {
            messages.Add(ParseFile(file));
        }

        return messages;
    }

    public static MessageDefinition Parse(string text, string sourceName)
    {
        var lines = text.Split('\n');
        MessageDefinition? message = null;
        // The field list new top-level fields go to: the message's, or the current common struct's.
        List<FieldDefinition>? topLevel = null;
        var stack = new List<FieldDefinition>();
        for (var i = 0; i < lines.Length; i++)
        {
            var raw = lines[i].TrimEnd('\r');
            var lineNumber = i + 1;
            if (raw.Trim().Length == 0 || raw.TrimStart().StartsWith('#'))
            {
                continue;
            }

            try
            {
                var indent = raw.Length - raw.TrimStart(' ').Length;
                if (indent % 2 != 0 || raw.Contains('\t', StringComparison.Ordinal))
                {
                    throw new FormatException("indent with two spaces per level");
                }

                var depth = indent / 2;
                var tokens = Tokenize(raw.Trim());
                if (depth == 0)
                {
                    if (message is null)
                    {
                        message = ParseHeader(tokens, sourceName);
                        topLevel = message.Fields;
                    }
                    else if (tokens[0] == "common")
                    {
                        var common = ParseCommon(tokens);
                        message.CommonStructs.Add(common);
                        topLevel = common.Fields;
                    }
                    else
                    {
                        throw new FormatException("expected a field (indented) or a 'common' struct");
                    }

                    stack.Clear();
                    continue;
                }

                if (message is null || topLevel is null)
                {
                    throw new FormatException("a field before the header line");
                }

                if (depth > stack.Count + 1)
                {
                    throw new FormatException("indented more than one level below its parent");
                }

                var field = ParseField(tokens);
                stack.RemoveRange(depth - 1, stack.Count - (depth - 1));
                if (depth == 1)
                {
                    topLevel.Add(field);
                }
                else
                {
                    var parent = stack[^1];
                    if (!parent.IsStructType)
                    {
                        throw new FormatException($"field '{parent.Name}' of type {parent.Type} cannot have nested fields");
                    }

                    parent.Fields.Add(field);
                }

                stack.Add(field);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{sourceName}:{lineNumber}: {e.Message}", e);
            }
        }

        return message ?? throw new FormatException($"{sourceName}: no header line.");
    }

    private static MessageDefinition ParseHeader(List<string> tokens, string sourceName)
    {
        if (tokens.Count < 2)
        {
            throw new FormatException("header line: '<kind> <Name> [key N] versions V flexible V ...'");
        }

        var kind = tokens[0] switch
        {
            "request" => MessageKind.Request,
            "response" => MessageKind.Response,
            "header" => MessageKind.Header,
            "data" => MessageKind.Data,
            _ => throw new FormatException($"unknown kind '{tokens[0]}'"),
        };
        short? apiKey = null;
        VersionRange? valid = null;
        VersionRange? flexible = null;
        VersionRange? deprecated = null;
        var unstable = false;
        var listeners = new List<string>();
        for (var i = 2; i < tokens.Count; i++)
        {
            switch (tokens[i])
            {
                case "key":
                    apiKey = short.Parse(Next(tokens, ref i), NumberStyles.None, CultureInfo.InvariantCulture);
                    break;
                case "versions":
                    valid = VersionRange.Parse(Next(tokens, ref i));
                    break;
                case "flexible":
                    flexible = VersionRange.Parse(Next(tokens, ref i));
                    break;
                case "deprecated":
                    deprecated = VersionRange.Parse(Next(tokens, ref i));
                    break;
                case "unstable":
                    unstable = true;
                    break;
                case "listeners":
                    listeners.AddRange(Next(tokens, ref i).Split(','));
                    break;
                default:
                    throw new FormatException($"unknown header attribute '{tokens[i]}'");
            }
        }

        if ((kind is MessageKind.Request or MessageKind.Response) != apiKey.HasValue)
        {
            throw new FormatException("requests and responses, and only they, have an API key");
        }

        var message = new MessageDefinition
        {
            Kind = kind,
            Name = tokens[1],
            ApiKey = apiKey,
            ValidVersions = valid ?? throw new FormatException("header line lacks 'versions'"),
            FlexibleVersions = flexible ?? throw new FormatException("header line lacks 'flexible'"),
            DeprecatedVersions = deprecated,
            LatestVersionUnstable = unstable,
            SourceFile = sourceName,
        };
        message.Listeners.AddRange(listeners);
        return message;
    }

    private static StructDefinition ParseCommon(List<string> tokens)
    {
        if (tokens.Count != 4 || tokens[2] != "versions")
        {
            throw new FormatException("common struct line: 'common <Name> versions V'");
        }

        return new StructDefinition { Name = tokens[1], Versions = VersionRange.Parse(tokens[3]) };
    }

    private static FieldDefinition ParseField(List<string> tokens)
    {
        if (tokens.Count < 3 || !tokens[0].EndsWith(':'))
        {
            throw new FormatException("field line: '<Name>: <type> <versions> [attributes]'");
        }

        VersionRange nullable = VersionRange.None;
        int? tag = null;
        VersionRange tagged = VersionRange.None;
        string? defaultValue = null;
        var ignorable = false;
        VersionRange? flexible = null;
        var mapKey = false;
        var zeroCopy = false;
        string? entity = null;
        for (var i = 3; i < tokens.Count; i++)
        {
            switch (tokens[i])
            {
                case "nullable":
                    nullable = VersionRange.Parse(Next(tokens, ref i));
                    break;
                case "tag":
                    tag = int.Parse(Next(tokens, ref i), NumberStyles.None, CultureInfo.InvariantCulture);
                    if (Next(tokens, ref i) != "tagged")
                    {
                        throw new FormatException("'tag N' is followed by 'tagged V'");
                    }

                    tagged = VersionRange.Parse(Next(tokens, ref i));
                    break;
                case "default":
                    defaultValue = Unquote(Next(tokens, ref i));
                    break;
                case "ignorable":
                    ignorable = true;
                    break;
                case "flexible":
                    flexible = VersionRange.Parse(Next(tokens, ref i));
                    break;
                case "mapKey":
                    mapKey = true;
                    break;
                case "zeroCopy":
                    zeroCopy = true;
                    break;
                case "entity":
                    entity = Next(tokens, ref i);
                    break;
                default:
                    throw new FormatException($"unknown field attribute '{tokens[i]}'");
            }
        }

        return new FieldDefinition
        {
            Name = tokens[0][..^1],
            Type = tokens[1],
            Versions = VersionRange.Parse(tokens[2]),
            NullableVersions = nullable,
            Tag = tag,
            TaggedVersions = tagged,
            Default = defaultValue,
            Ignorable = ignorable,
            FlexibleVersions = flexible,
            MapKey = mapKey,
            ZeroCopy = zeroCopy,
            EntityType = entity,
        };
    }

    private static string Next(List<string> tokens, ref int i)
    {
        if (i + 1 >= tokens.Count)
        {
            throw new FormatException($"'{tokens[i]}' needs a value");
        }

        return tokens[++i];
    }

    private static string Unquote(string token) =>
        token.Length >= 2 && token[0] == '"' && token[^1] == '"' ? token[1..^1] : token;

    /// <summary>Splits on spaces; a double-quoted token may contain spaces and is kept with its quotes.</summary>
    private static List<string> Tokenize(string line)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            if (line[i] == ' ')
            {
                i++;
                continue;
            }

            var start = i;
            if (line[i] == '"')
            {
                var end = line.IndexOf('"', i + 1);
                if (end < 0)
                {
                    throw new FormatException("unterminated quoted value");
                }

                i = end + 1;
            }
            else
            {
                while (i < line.Length && line[i] != ' ')
                {
                    i++;
                }
            }

            tokens.Add(line[start..i]);
        }

        return tokens;
    }
}
