using Atalaya.Engine.ClickHouse;

namespace Atalaya.Tests.ClickHouse;

/// <summary>The texts the client reads and writes without a server: error texts and TabSeparated fields.</summary>
public sealed class ClickHouseTextTests
{
    [Theory]
    [InlineData("Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1, e.what() = DB::Exception\n", 62, "Syntax error: failed at position 1")]
    [InlineData("Code: 60. DB::Exception: Table default.t doesn't exist. (UNKNOWN_TABLE) (version 23.8.1)", 60, "Table default.t doesn't exist. (UNKNOWN_TABLE) (version 23.8.1)")]
    [InlineData("Code: 60, DB::Exception: Table x doesn't exist.", 60, "Table x doesn't exist.")]
    public void Error_texts_of_old_and_new_servers_give_code_and_message(string body, int code, string message)
    {
        var error = ClickHouseException.Parse(body, "q-1")!;
        Assert.Equal(code, error.Code);
        Assert.Equal(message, error.ServerMessage);
        Assert.Contains("q-1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_that_is_not_a_ClickHouse_error_is_not_taken_for_one()
    {
        Assert.Null(ClickHouseException.Parse("<html>502 Bad Gateway</html>", "q"));
    }

    [Fact]
    public void Fields_round_trip_through_escape_and_split()
    {
        string[] values = ["plain", "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N", "", "ñ 😀"];
        var line = string.Join('\t', values.Select(TabSeparated.Escape));
        Assert.DoesNotContain('\n', line);
        Assert.Equal(values, TabSeparated.Split(line));
        Assert.Equal((IEnumerable<string?>)[null, "x"], TabSeparated.Split("\\N\tx"));
    }
}
