using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Atalaya.Engine.Webhooks;

/// <summary>
/// The signature scheme of Stripe and most payment providers: a header <c>t=UNIX,v1=HEX</c> where
/// HEX is HMAC-SHA256(secret, "t.body") in lower-case hex; several v1 entries are allowed while a
/// secret is being rolled. Compared in fixed time.
/// </summary>
internal static class WebhookSignature
{
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body) =>
        $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Hex(secret, timestamp, body)}";

    /// <summary>The timestamp and v1 signatures of a header, or null when it is not in the t=…,v1=… form.</summary>
    public static (long Timestamp, IReadOnlyList<string> Signatures)? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }
        long? timestamp = null;
        var signatures = new List<string>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return null;
            }
            var (key, value) = (part[..eq], part[(eq + 1)..]);
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (key == "v1" && value.Length == 64)
            {
                signatures.Add(value.ToLowerInvariant());
            }
        }
        return timestamp is { } ts && signatures.Count > 0 ? (ts, signatures) : null;
    }

    public static bool Matches(string secret, long timestamp, ReadOnlySpan<byte> body, IReadOnlyList<string> signatures)
    {
        var expected = Encoding.ASCII.GetBytes(Hex(secret, timestamp, body));
        return signatures.Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected));
    }

    private static string Hex(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }
}
