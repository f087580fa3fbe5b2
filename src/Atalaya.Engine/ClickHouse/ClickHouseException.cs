using System.Text.RegularExpressions;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// ClickHouse refused a statement: its numeric error code (62 is a syntax error, 60 an unknown
/// table, 81 an unknown database, …) and the server's message without the wrapping.
/// </summary>
internal sealed partial class ClickHouseException(int code, string serverMessage, string queryId)
    : Exception($"ClickHouse error {code}: {serverMessage} (query id {queryId})")
{
    public int Code { get; } = code;

    public string ServerMessage { get; } = serverMessage;

    public string QueryId { get; } = queryId;

    /// <summary>
    /// Reads ClickHouse's error text, <c>Code: 62, e.displayText() = DB::Exception: Syntax error…, e.what() = DB::Exception</c>
    /// (newer servers write <c>Code: 62. DB::Exception: …</c>); null when the text is not one.
    /// </summary>
    public static ClickHouseException? Parse(string body, string queryId)
    {
        var match = ErrorText().Match(body);
        if (!match.Success)
        {
            return null;
        }
        var message = match.Groups["message"].Value.Trim();
        const string Prefix = "DB::Exception: ";
        if (message.StartsWith(Prefix, StringComparison.Ordinal))
        {
            message = message[Prefix.Length..];
        }
        return new ClickHouseException(int.Parse(match.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture), message, queryId);
    }

    [GeneratedRegex(@"Code: (?<code>\d+)[.,] (?:e\.displayText\(\) = )?(?<message>.*?)(?:, e\.what\(\) = .*)?\s*$", RegexOptions.Singleline)]
    private static partial Regex ErrorText();
}
