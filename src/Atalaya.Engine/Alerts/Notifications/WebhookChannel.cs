using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>
/// A signed JSON webhook: the body is the notification as JSON; the header
/// <c>X-Atalaya-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c> lets the
/// receiver check it came from this hub and is recent (docs/alerts.md shows how to verify it).
/// </summary>
internal sealed class WebhookChannel(string name, HttpClient http, Uri url, byte[] key, TimeProvider time) : INotificationChannel
{
    public const string SignatureHeader = "X-Atalaya-Signature";

    public string Name => name;

    public string Type => "webhook";

    public Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(notification, AlertsJson.Default.Notification);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        var signature = Sign(key, time.GetUtcNow().ToUnixTimeSeconds(), body);
        return HttpChannel.PostAsync(http, name, url, content, r => r.Headers.TryAddWithoutValidation(SignatureHeader, signature), [url.ToString()], cancellationToken);
    }

    /// <summary><c>t=&lt;unix&gt;,v1=&lt;hex HMAC-SHA256(key, "&lt;unix&gt;." + body)&gt;</c>.</summary>
    public static string Sign(byte[] key, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        var signed = new byte[t.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(t + ".", signed);
        body.CopyTo(signed.AsSpan(t.Length + 1));
        return $"t={t},v1={Convert.ToHexStringLower(HMACSHA256.HashData(key, signed))}";
    }
}
