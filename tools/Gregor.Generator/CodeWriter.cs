using System.Text;

namespace Gregor.Generator;

/// <summary>Indentation-aware text builder for generated C#.</summary>
public sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _indent * 4).Append(line);
        }

        _text.Append('\n');
    }

    public void Open(string line)
    {
        Line(line);
        Line("{");
        _indent++;
    }

    public void Open()
    {
        Line("{");
        _indent++;
    }

    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
    }

    /// <summary>
    /// Emits <paramref name="then"/> under <paramref name="condition"/> and <paramref name="otherwise"/>
    /// under its negation, dropping the test when the condition is the literal true or false (so the
    /// compiler never sees unreachable code).
    /// </summary>
    public void If(string condition, Action then, Action? otherwise = null)
    {
        if (condition == "true")
        {
            then();
            return;
        }

        if (condition == "false")
        {
            otherwise?.Invoke();
            return;
        }

        Open($"if ({condition})");
        then();
        Close();
        if (otherwise is not null)
        {
            Open("else");
            otherwise();
            Close();
        }
    }

    public override string ToString() => _text.ToString();
}
