using System.Net.Http.Headers;
using System.Text;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Robustness;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// No secret reaches a stored row or the log: a refused event that carries a write key (with or
/// without its <c>atl_</c> prefix, as <c>writeKey</c> or in any member), an Authorization value
/// or a password is quarantined with those values redacted; query parameters that carry them are
/// redacted in the audit log; and the hub's own log never prints them.
/// </summary>
public sealed class SecretRedactionTests
{
    [Fact]
    public async Task Refused_events_and_audited_reads_store_no_secret_and_the_log_prints_none()
    {
        await using var hub = await ChildHub.LaunchAsync("secrets", ["--log-format", "json"]);
        var key = hub.WriteKey;
        var bare = key[(key.LastIndexOf('_') + 1)..];
        Assert.Equal(43, bare.Length);
        const string password = "correct horse battery staple";
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":"));
        using var client = hub.CreateClient();

        // Segment: a refused message (no event name) whose write key is in its body, as analytics.js can send it.
        await PostAsync(client, "v1/track", null,
            $$$"""{"writeKey":"{{{key}}}","type":"track","userId":"u-1","properties":{"password":"{{{password}}}","k":"{{{bare}}}"}}""");
        // Segment batch: the key as HTTP Basic and inside a refused message.
        await PostAsync(client, "v1/batch", new AuthenticationHeaderValue("Basic", basic),
            $$$$"""{"batch":[{"type":"nonsense","write_key":"{{{{bare}}}}","context":{"headers":{"Authorization":"Basic {{{{basic}}}}"}}}]}""");
        // Native: an invalid event (bad event_type) with secrets in properties and as bare text, and
        // a malformed NDJSON line that cannot be parsed at all but still holds the key.
        await PostAsync(client, "api/events", new AuthenticationHeaderValue("Bearer", key),
            $$$"""[{"event_id":"e-1","event_type":"Not Snake","timestamp":"2026-03-01T12:00:00Z","properties":{"apiKey":"{{{key}}}","note":"my key is {{{bare}}}","auth":"Bearer {{{key}}}","userPassword":12345678}}]""");
        await PostAsync(client, "api/events", new AuthenticationHeaderValue("Bearer", key),
            $$$"""{"event_id":"e-2","writeKey":"{{{key}}}", "password":"{{{password}}}" broken""", "application/x-ndjson");
        // Reads: secrets pasted into query strings land in the audit log redacted.
        var analyst = await hub.CreateTokenAsync("analyst", []);
        foreach (var query in new[] { $"api/kpi/query?token={bare}", $"api/kpi/query?writeKey={key}", $"api/kpi/query?note={bare}", $"api/kpi/query?password={Uri.EscapeDataString(password)}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, query);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", analyst);
            using var _ = await client.SendAsync(request);
        }
        await hub.StopAsync();

        using var db = hub.OpenDatabaseReadOnly();
        var failed = Rows(db, "SELECT payload || ' ' || errors FROM failed_events;");
        var audit = Rows(db, "SELECT params || ' ' || scope || ' ' || injected || ' ' || actor FROM audit_log;");
        Assert.True(failed.Count >= 4, string.Join("\n", failed));
        Assert.True(audit.Count >= 4, string.Join("\n", audit));
        Assert.Contains(failed, row => row.Contains(SecretRedactor.Redacted, StringComparison.Ordinal));
        var analystBare = analyst[(analyst.LastIndexOf('_') + 1)..];
        foreach (var (where, text) in failed.Select(r => ("failed_events", r)).Concat(audit.Select(r => ("audit_log", r))).Append(("log", File.ReadAllText(hub.LogPath))))
        {
            foreach (var secret in new[] { bare, password, basic, analystBare, "12345678" })
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} holds a secret: {text}");
            }
        }
        hub.MarkPassed();
    }

    [Theory]
    [InlineData("""{"writeKey":"abc"}""", """{"writeKey":"[redacted]"}""")]
    [InlineData("""{"user_password" : "x y", "b": 1}""", """{"user_password" : "[redacted]", "b": 1}""")]
    [InlineData("""{"Authorization":"Basic dXNlcjpwYXNz"}""", """{"Authorization":"[redacted]"}""")]
    [InlineData("""{"h":"Bearer abcdefgh12345678"}""", """{"h":"Bearer [redacted]"}""")]
    [InlineData("""{"pin":"atl_write_0123456789abcdefGHIJ"}""", """{"pin":"atl_[redacted]"}""")]
    [InlineData("""{"writeKey":"trunc""", "{\"writeKey\":\"[redacted]\"")]
    // Left alone: ids, hex digests, words, event names that merely mention a token.
    [InlineData("""{"event_id":"0123456789abcdef0123456789abcdef0123456789a","order_id":"ORDER1234567890123456789012345678901234567"}""", null)]
    [InlineData("""{"event_type":"token_refreshed","tokens":3,"token_count":2}""", null)]
    public void Redaction_takes_secrets_out_and_leaves_the_rest_byte_for_byte(string input, string? expected)
    {
        Assert.Equal(expected ?? input, SecretRedactor.Redact(input));
    }

    private static async Task PostAsync(HttpClient client, string path, AuthenticationHeaderValue? auth, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = auth;
        using var response = await client.SendAsync(request);
        Assert.True((int)response.StatusCode < 500, $"{path} answered {(int)response.StatusCode}");
    }

    private static List<string> Rows(Microsoft.Data.Sqlite.SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }
        return rows;
    }
}
