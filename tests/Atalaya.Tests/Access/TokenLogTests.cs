using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Atalaya.Tests.Robustness;

namespace Atalaya.Tests.Access;

/// <summary>
/// The real executable (<c>atalaya serve --log-format json</c>) never writes a token to its output:
/// read tokens, write keys, unknown and revoked ones, sent the ways clients send them (Bearer,
/// HTTP Basic, a Segment body's writeKey), to endpoints that accept and refuse them, with good and
/// bad requests. The output is read after a graceful stop, so nothing is still buffered.
/// </summary>
public sealed partial class TokenLogTests
{
    [GeneratedRegex("atl_[a-z]+_[0-9A-Za-z]{20,}")]
    private static partial Regex TokenPattern();

    [Fact]
    public async Task The_server_output_holds_no_token_whatever_the_requests_and_their_outcomes()
    {
        await using var hub = await ChildHub.LaunchAsync("token-logs", ["--log-format", "json"]);
        var admin = await hub.CreateTokenAsync("admin", []);
        var analyst = await hub.CreateTokenAsync("analyst", []);
        var lead = await hub.CreateTokenAsync("country_ops_lead", ["--country", "MX", "--hub", "cdmx-norte"]);
        var vendor = await hub.CreateTokenAsync("vendor", ["--store", "st-1"]);
        var secondWrite = await hub.CreateTokenAsync("write", ["--source", "web"]);
        var unknown = "atl_admin_" + RandomNumberGenerator.GetString("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 43);
        using var client = hub.CreateClient(TimeSpan.FromSeconds(30));

        var (createdStatus, created) = await SendAsync(client, HttpMethod.Post, "/api/tokens", Bearer(admin), """{"role": "analyst", "name": "to revoke"}""");
        Assert.Equal(HttpStatusCode.Created, createdStatus);
        var revokedDocument = JsonDocument.Parse(created).RootElement;
        var revoked = revokedDocument.GetProperty("token").GetString()!;
        await SendAsync(client, HttpMethod.Delete, "/api/tokens/" + revokedDocument.GetProperty("id").GetString(), Bearer(admin));
        var (_, listed) = await SendAsync(client, HttpMethod.Get, "/api/tokens", Bearer(admin));
        var writeId = JsonDocument.Parse(listed).RootElement.GetProperty("data").EnumerateArray()
            .First(t => t.GetProperty("source").GetString() == "web").GetProperty("id").GetString();
        await SendAsync(client, HttpMethod.Delete, "/api/tokens/" + writeId, Bearer(admin));

        var secrets = new[] { admin, analyst, lead, vendor, hub.WriteKey, secondWrite, unknown, revoked };
        var statuses = new HashSet<HttpStatusCode> { createdStatus };
        var readPaths = new[]
        {
            "/api/kpi/query?metric=gmv", "/api/kpi/query?country=CO", "/api/kpi/query?colour=red", "/api/kpi/summary",
            "/api/kpi/timeseries", "/api/analysis/funnel?steps=page_view,purchase_completed", "/api/kpi/benchmark?metric=gmv",
            "/api/tokens", "/api/audit", "/api/kpi/definitions",
        };
        var native = """{"event_id": "e-1", "event_type": "page_view", "timestamp": "2026-03-01T12:00:00Z", "context": {"page_url": "https://shop.example/"}}""";
        foreach (var secret in secrets)
        {
            foreach (var path in readPaths)
            {
                statuses.Add((await SendAsync(client, HttpMethod.Get, path, Bearer(secret))).Status);
            }
            statuses.Add((await SendAsync(client, HttpMethod.Post, "/api/events", Bearer(secret), native)).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Post, "/api/events", Bearer(secret), "{not json")).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Post, "/api/events", Bearer(secret), native, "text/plain")).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Post, "/v1/track", Basic(secret),
                """{"type": "track", "event": "Product Viewed", "anonymousId": "a-1", "messageId": "m-1"}""")).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Post, "/v1/batch", null,
                JsonSerializer.Serialize(new { writeKey = secret, batch = new[] { new { type = "page", anonymousId = "a-2", messageId = "m-2" } } }))).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Post, "/api/tokens", Bearer(secret), """{"role": "vendor"}""")).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Get, "/api/kpi/query", new AuthenticationHeaderValue("Basic", secret))).Status);
            statuses.Add((await SendAsync(client, HttpMethod.Get, "/api/kpi/query", new AuthenticationHeaderValue("Bearer", secret + " " + secret))).Status);
        }
        await hub.StopAsync();

        Assert.True(statuses.IsSupersetOf([HttpStatusCode.OK, HttpStatusCode.Created, HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized,
            HttpStatusCode.Forbidden, HttpStatusCode.UnsupportedMediaType]), "statuses seen: " + string.Join(", ", statuses.Order()));
        var output = await File.ReadAllTextAsync(hub.LogPath);
        var json = output.Split('\n').Where(line => line.StartsWith('{')).ToList();
        Assert.Contains(json, line => line.Contains("Hub ready", StringComparison.Ordinal));
        Assert.All(json, line => JsonDocument.Parse(line).Dispose());
        foreach (var secret in secrets)
        {
            Assert.False(output.Contains(secret[secret.LastIndexOf('_')..], StringComparison.Ordinal), $"the output holds the body of token {secret[..10]}…");
        }
        var shaped = TokenPattern().Match(output);
        Assert.False(shaped.Success, $"the output holds something shaped like a token at offset {shaped.Index}");
        hub.MarkPassed();
    }

    private static AuthenticationHeaderValue Bearer(string secret) => new("Bearer", secret);

    private static AuthenticationHeaderValue Basic(string secret) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(secret + ":")));

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, HttpMethod method, string path,
        AuthenticationHeaderValue? authorization, string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = authorization;
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
