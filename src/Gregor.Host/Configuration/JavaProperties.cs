using System.Globalization;
using System.Text;
using Gregor.Broker.Config;

namespace Gregor.Host.Configuration;

/// <summary>
/// Java's <c>.properties</c> syntax, as <c>java.util.Properties.load</c> reads it, so Kafka's
/// <c>server.properties</c> files work unchanged: <c>#</c>/<c>!</c> comments, <c>=</c>, <c>:</c>
/// or whitespace between key and value, <c>\</c> line continuations, and escapes
/// (<c>\t \n \r \f \uXXXX</c>, and <c>\x</c> for any other x). A later duplicate key wins.
/// </summary>
public static class JavaProperties
{
    /// <summary>Parses properties text; <paramref name="sourceName"/> names the file in error messages.</summary>
    public static Dictionary<string, string> Parse(string text, string sourceName = "properties")
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var logical = new StringBuilder();
        var position = 0;
        var lineNumber = 0;

        // Java reads the file as a byte stream in ISO-8859-1; Gregor reads UTF-8 (a superset for the
        // ASCII files Kafka ships), and a leading byte-order mark is not part of the first key.
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            position = 1;
        }

        while (position < text.Length)
        {
            // One logical line: natural lines joined while they end in an odd number of backslashes.
            logical.Clear();
            var startLine = lineNumber + 1;
            var firstNaturalLine = true;
            var isComment = false;
            while (position < text.Length)
            {
                var line = ReadNaturalLine(text, ref position);
                lineNumber++;
                var start = 0;
                while (start < line.Length && IsWhitespace(line[start]))
                {
                    start++;
                }

                if (firstNaturalLine)
                {
                    if (start == line.Length)
                    {
                        // Blank line.
                        break;
                    }

                    if (line[start] is '#' or '!')
                    {
                        isComment = true;
                        break;
                    }
                }

                firstNaturalLine = false;
                var content = line.AsSpan(start);
                var trailingBackslashes = 0;
                for (var i = content.Length - 1; i >= 0 && content[i] == '\\'; i--)
                {
                    trailingBackslashes++;
                }

                if (trailingBackslashes % 2 == 1)
                {
                    logical.Append(content[..^1]);
                    continue;
                }

                logical.Append(content);
                break;
            }

            if (isComment || logical.Length == 0)
            {
                continue;
            }

            var (key, value) = SplitKeyValue(logical.ToString(), sourceName, startLine);
            result[key] = value;
        }

        return result;
    }

    /// <summary>Reads and parses a properties file; a missing or unreadable file is a <see cref="ConfigException"/>.</summary>
    public static Dictionary<string, string> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"Properties file not found: {Path.GetFullPath(path)}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Cannot read properties file {Path.GetFullPath(path)}: {ex.Message}", ex);
        }

        return Parse(text, path);
    }

    private static string ReadNaturalLine(string text, ref int position)
    {
        var start = position;
        while (position < text.Length && text[position] is not ('\n' or '\r'))
        {
            position++;
        }

        var line = text[start..position];
        if (position < text.Length)
        {
            if (text[position] == '\r' && position + 1 < text.Length && text[position + 1] == '\n')
            {
                position++;
            }

            position++;
        }

        return line;
    }

    private static (string Key, string Value) SplitKeyValue(string line, string sourceName, int lineNumber)
    {
        // The key ends at the first unescaped '=', ':' or whitespace.
        var keyEnd = 0;
        var hasSeparator = false;
        while (keyEnd < line.Length)
        {
            var c = line[keyEnd];
            if (c == '\\')
            {
                keyEnd += 2;
                continue;
            }

            if (c is '=' or ':')
            {
                hasSeparator = true;
                break;
            }

            if (IsWhitespace(c))
            {
                break;
            }

            keyEnd++;
        }

        keyEnd = Math.Min(keyEnd, line.Length);
        var valueStart = keyEnd;
        while (valueStart < line.Length && IsWhitespace(line[valueStart]))
        {
            valueStart++;
        }

        if (!hasSeparator && valueStart < line.Length && line[valueStart] is '=' or ':')
        {
            valueStart++;
        }
        else if (hasSeparator)
        {
            valueStart = keyEnd + 1;
        }

        while (valueStart < line.Length && IsWhitespace(line[valueStart]))
        {
            valueStart++;
        }

        var key = Unescape(line[..keyEnd], sourceName, lineNumber);
        var value = Unescape(line[valueStart..], sourceName, lineNumber);
        return (key, value);
    }

    private static string Unescape(string s, string sourceName, int lineNumber)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }

        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c != '\\' || i == s.Length - 1)
            {
                sb.Append(c);
                continue;
            }

            c = s[++i];
            switch (c)
            {
                case 't':
                    sb.Append('\t');
                    break;
                case 'n':
                    sb.Append('\n');
                    break;
                case 'r':
                    sb.Append('\r');
                    break;
                case 'f':
                    sb.Append('\f');
                    break;
                case 'u':
                    if (s.Length - i - 1 < 4
                        || !ushort.TryParse(s.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new ConfigException($"{sourceName}:{lineNumber}: malformed \\uXXXX escape.");
                    }

                    sb.Append((char)code);
                    i += 4;
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\f';
}
