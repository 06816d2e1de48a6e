using Gregor.Broker.Config;
using Gregor.Host.Configuration;
using Xunit;

namespace Gregor.Host.Tests.Configuration;

public sealed class JavaPropertiesTests
{
    [Fact]
    public void Comments_blank_lines_and_every_separator()
    {
        var text = """
            # a comment
            ! another comment
               # indented comment

            node.id=3
            log.dirs : /var/lib/gregor
            num.partitions    6
            	listeners=PLAINTEXT://:9092
            empty=
            bare
            """;
        var props = JavaProperties.Parse(text);
        Assert.Equal(6, props.Count);
        Assert.Equal("3", props["node.id"]);
        Assert.Equal("/var/lib/gregor", props["log.dirs"]);
        Assert.Equal("6", props["num.partitions"]);
        Assert.Equal("PLAINTEXT://:9092", props["listeners"]);
        Assert.Equal("", props["empty"]);
        Assert.Equal("", props["bare"]);
    }

    [Fact]
    public void Value_keeps_separators_after_the_first_and_trailing_spaces()
    {
        var props = JavaProperties.Parse("sasl.jaas.config=a=b:c d \nx:y=z");
        Assert.Equal("a=b:c d ", props["sasl.jaas.config"]);
        Assert.Equal("y=z", props["x"]);
    }

    [Fact]
    public void Continuation_lines_are_joined_and_their_indent_dropped()
    {
        var text = "listeners=PLAINTEXT://:9092,\\\n    CONTROLLER://:9093\nnext=1\n";
        var props = JavaProperties.Parse(text);
        Assert.Equal("PLAINTEXT://:9092,CONTROLLER://:9093", props["listeners"]);
        Assert.Equal("1", props["next"]);
    }

    [Fact]
    public void Even_number_of_trailing_backslashes_is_not_a_continuation()
    {
        var props = JavaProperties.Parse("path=C:\\\\dir\\\\\nnext=1");
        Assert.Equal("C:\\dir\\", props["path"]);
        Assert.Equal("1", props["next"]);
    }

    [Fact]
    public void Comment_ending_in_backslash_does_not_continue()
    {
        var props = JavaProperties.Parse("# comment \\\nkey=value");
        Assert.Equal("value", Assert.Single(props).Value);
    }

    [Fact]
    public void Crlf_and_cr_line_endings()
    {
        var props = JavaProperties.Parse("a=1\r\nb=2\rc=3\r\n");
        Assert.Equal(["1", "2", "3"], new[] { props["a"], props["b"], props["c"] });
    }

    [Fact]
    public void Escapes_in_keys_and_values()
    {
        var props = JavaProperties.Parse("key\\=with\\:seps\\ and\\ space = tab\\there\\u0041\\u00e9\\n\\q");
        Assert.Equal("tab\there" + "A\u00e9\nq", props["key=with:seps and space"]);
    }

    [Fact]
    public void Later_duplicate_wins()
    {
        var props = JavaProperties.Parse("a=1\na=2");
        Assert.Equal("2", props["a"]);
    }

    [Fact]
    public void Byte_order_mark_is_not_part_of_the_first_key()
    {
        var props = JavaProperties.Parse("\uFEFFnode.id=2");
        Assert.Equal("2", props["node.id"]);
    }

    [Theory]
    [InlineData("a=\\u12")]
    [InlineData("a=\\uZZZZ")]
    public void Malformed_unicode_escape_is_a_config_error_with_the_line(string text)
    {
        var ex = Assert.Throws<ConfigException>(() => JavaProperties.Parse("ok=1\n" + text, "server.properties"));
        Assert.Contains("server.properties:2", ex.Message, StringComparison.Ordinal);
    }
}
