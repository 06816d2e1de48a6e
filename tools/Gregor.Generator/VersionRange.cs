using System.Globalization;

namespace Gregor.Generator;

/// <summary>
/// A range of versions as definitions write it: "none", "3", "0-4" or "9+" (open-ended).
/// </summary>
public readonly record struct VersionRange(short Lowest, short Highest)
{
    public static readonly VersionRange None = new(0, -1);

    public static readonly VersionRange All = new(0, short.MaxValue);

    public bool IsEmpty => Highest < Lowest;

    public bool IsOpenEnded => Highest == short.MaxValue;

    public bool Contains(short version) => version >= Lowest && version <= Highest;

    /// <summary>Whether every version of <paramref name="other"/> is in this range.</summary>
    public bool Covers(VersionRange other) => other.IsEmpty || (Lowest <= other.Lowest && Highest >= other.Highest);

    public VersionRange Intersect(VersionRange other)
    {
        var range = new VersionRange(Math.Max(Lowest, other.Lowest), Math.Min(Highest, other.Highest));
        return range.IsEmpty ? None : range;
    }

    public static VersionRange Parse(string text)
    {
        if (text == "none")
        {
            return None;
        }

        if (text.EndsWith('+'))
        {
            return new VersionRange(ParseVersion(text[..^1], text), short.MaxValue);
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            var single = ParseVersion(text, text);
            return new VersionRange(single, single);
        }

        var range = new VersionRange(ParseVersion(text[..dash], text), ParseVersion(text[(dash + 1)..], text));
        if (range.IsEmpty)
        {
            throw new FormatException($"Version range '{text}' is empty; write 'none'.");
        }

        return range;
    }

    private static short ParseVersion(string part, string text) =>
        short.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new FormatException($"'{text}' is not a version range.");

    public override string ToString() =>
        IsEmpty ? "none" : IsOpenEnded ? $"{Lowest}+" : Lowest == Highest ? $"{Lowest}" : $"{Lowest}-{Highest}";
}
