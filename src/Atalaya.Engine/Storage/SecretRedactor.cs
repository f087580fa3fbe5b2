using System.Text.RegularExpressions;

namespace Atalaya.Engine.Storage;

/// <summary>
/// Takes secrets out of text that is about to be stored for people to read (a quarantined event's
/// payload and errors, audit parameters): the value of any member named like a credential
/// (<c>writeKey</c>, <c>password</c>, <c>authorization</c>, <c>api_key</c>, <c>token</c>…), anything
/// shaped like an Atalaya token with its <c>atl_ROLE_</c> prefix or without it (the 43-character
/// base62 secret alone), and the credentials of <c>Bearer</c>/<c>Basic</c> values. Works on the
/// text, so a truncated or malformed payload is redacted too; everything else is kept byte for byte.
/// Runs only on refused events and audit rows, never on the accepted events' path.
/// </summary>
public static partial class SecretRedactor
{
    public const string Redacted = "[redacted]";

    /// <summary>A token with its prefix: <c>atl_write_…</c>, <c>atl_admin_…</c>.</summary>
    [GeneratedRegex("atl_[A-Za-z]+_[0-9A-Za-z]{16,}")]
    private static partial Regex PrefixedToken();

    /// <summary>A run of exactly 43 base62 characters: a token's secret without its prefix (checked for mixed classes below).</summary>
    [GeneratedRegex("(?<![0-9A-Za-z_])[0-9A-Za-z]{43}(?![0-9A-Za-z_])")]
    private static partial Regex BareSecret();

    [GeneratedRegex(@"\b(Bearer|Basic)\s+[A-Za-z0-9+/=._~-]{8,}", RegexOptions.IgnoreCase)]
    private static partial Regex HttpCredential();

    /// <summary>A JSON member whose name says it holds a credential, with its string or number value.</summary>
    [GeneratedRegex("""
        "(?<name>(?:[A-Za-z0-9]*[_-]?)(?:write[_-]?key|password|passwd|pwd|secret|authorization|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|token|credentials?))"(?<sep>\s*:\s*)(?<value>"(?:[^"\\]|\\.)*"?|-?[0-9][0-9.eE+-]*)
        """, RegexOptions.IgnoreCase | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex SecretMember();

    /// <summary>The text with every secret replaced; the same instance when there was none.</summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }
        var result = SecretMember().Replace(text, m => $"\"{m.Groups["name"].Value}\"{m.Groups["sep"].Value}\"{Redacted}\"");
        result = PrefixedToken().Replace(result, "atl_" + Redacted);
        result = BareSecret().Replace(result, m => LooksRandom(m.ValueSpan) ? Redacted : m.Value);
        result = HttpCredential().Replace(result, m => $"{m.Groups[1].Value} {Redacted}");
        return result;
    }

    /// <summary>Whether a parameter or member name says its value is a credential.</summary>
    public static bool IsSecretName(string name) => SecretMember().IsMatch($"\"{name}\":\"\"");

    /// <summary>
    /// A token's secret mixes upper case, lower case and digits (43 of them carry 256 bits); words,
    /// hex digests and decimal ids of that length do not, so they are left alone.
    /// </summary>
    private static bool LooksRandom(ReadOnlySpan<char> run)
    {
        bool upper = false, lower = false, digit = false;
        foreach (var c in run)
        {
            upper |= char.IsAsciiLetterUpper(c);
            lower |= char.IsAsciiLetterLower(c);
            digit |= char.IsAsciiDigit(c);
        }
        return upper && lower && digit;
    }
}
