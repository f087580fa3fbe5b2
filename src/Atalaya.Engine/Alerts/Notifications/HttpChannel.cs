using System.Net;
using System.Net.Http.Headers;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>The HTTP channels' common send: status codes to transient or permanent failures, Retry-After read, secrets redacted from messages.</summary>
internal static class HttpChannel
{
    public static async Task PostAsync(HttpClient http, string channel, Uri url, HttpContent content, Action<HttpRequestMessage>? sign, IReadOnlyList<string> secrets, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        sign?.Invoke(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new ChannelException($"{channel}: cannot reach the receiver ({Redact(e.Message, secrets)})", transient: true);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ChannelException($"{channel}: the receiver did not answer in time", transient: true);
        }
        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return;
            }
            var code = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            body = Redact(body.Length > 200 ? body[..200] : body, secrets);
            var transient = code is 408 or 429 || code >= 500;
            throw new ChannelException($"{channel}: the receiver answered {code} {response.ReasonPhrase} {body}".TrimEnd(), transient, RetryAfter(response.Headers.RetryAfter));
        }
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is { } d && d > TimeSpan.Zero ? d : TimeSpan.Zero,
        _ => null,
    };

    public static string Redact(string text, IReadOnlyList<string> secrets)
    {
        foreach (var secret in secrets.Where(s => s.Length >= 4))
        {
            text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
            // A URL may appear host-only or escaped in a message.
            if (Uri.TryCreate(secret, UriKind.Absolute, out var uri) && uri.AbsolutePath.Length > 1)
            {
                text = text.Replace(uri.AbsolutePath, "/[redacted]", StringComparison.Ordinal)
                    .Replace(WebUtility.UrlEncode(uri.AbsolutePath), "[redacted]", StringComparison.Ordinal);
            }
        }
        return text;
    }
}
