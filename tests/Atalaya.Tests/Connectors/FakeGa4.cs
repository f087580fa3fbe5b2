using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// Google's OAuth token endpoint and the GA4 Data API v1beta runReport, as documented: the token
/// endpoint takes grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and an RS256 assertion
/// (checked against the service account's public key, aud, scope and exp) and answers
/// {access_token, expires_in, token_type} or {error: invalid_grant}; runReport takes
/// dateRanges/dimensions/metrics/offset/limit and answers dimensionHeaders, metricHeaders,
/// rows[].dimensionValues/metricValues (values as strings), rowCount, kind and metadata; errors
/// are {error: {code, message, status}}.
/// </summary>
public sealed class FakeGa4 : IAsyncDisposable
{
    private readonly HashSet<string> _validTokens = [];
    private readonly object _lock = new();

    private FakeGa4(LoopbackServer server, RSA key)
    {
        Server = server;
        Key = key;
    }

    public LoopbackServer Server { get; }

    public RSA Key { get; }

    public string ClientEmail => "atalaya@test-project.iam.gserviceaccount.com";

    public string TokenUrl => Server.Url + "/token";

    /// <summary>property → day → metric → value.</summary>
    public Dictionary<string, Dictionary<DateOnly, Dictionary<string, double>>> Data { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, the metric headers sent back use these names (the API renamed a metric).</summary>
    public List<string>? RenamedMetrics { get; set; }

    /// <summary>Members added to every report (a field the API started sending).</summary>
    public Dictionary<string, object> ExtraMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>The key was deleted in the console: the token endpoint refuses assertions signed with it.</summary>
    public bool KeyRevoked { get; set; }

    public List<string> IssuedTokens { get; } = [];

    public static async Task<FakeGa4> StartAsync()
    {
        var key = RSA.Create(2048);
        FakeGa4? fake = null;
        var server = await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/token", (HttpContext c) => fake!.TokenAsync(c));
            app.MapPost("/v1beta/{**rest}", (HttpContext c, string rest) => fake!.ReportAsync(c, rest));
        });
        fake = new FakeGa4(server, key);
        return fake;
    }

    /// <summary>The service-account key file Google's console downloads.</summary>
    public string ServiceAccountJson() => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["type"] = "service_account",
        ["project_id"] = "test-project",
        ["private_key_id"] = "k1",
        ["private_key"] = Key.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ClientEmail,
        ["token_uri"] = TokenUrl,
    });

    /// <summary>Every access token issued so far stops working (they expired).</summary>
    public void ExpireTokens()
    {
        lock (_lock)
        {
            _validTokens.Clear();
        }
    }

    public void Set(string property, DateOnly day, params (string Metric, double Value)[] values)
    {
        if (!Data.TryGetValue(property, out var days))
        {
            Data[property] = days = [];
        }
        days[day] = values.ToDictionary(v => v.Metric, v => v.Value, StringComparer.Ordinal);
    }

    private async Task TokenAsync(HttpContext context)
    {
        if (await Server.FaultAsync("token", context))
        {
            return;
        }
        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            await Error(context, 400, """{"error":"unsupported_grant_type","error_description":"Invalid grant_type"}""");
            return;
        }
        var parts = form["assertion"].ToString().Split('.');
        if (parts.Length != 3 || KeyRevoked
            || !Key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            await Error(context, 400, """{"error":"invalid_grant","error_description":"Invalid JWT Signature."}""");
            return;
        }
        using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
        using var claims = JsonDocument.Parse(FromBase64Url(parts[1]));
        var c = claims.RootElement;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (header.RootElement.GetProperty("alg").GetString() != "RS256" || c.GetProperty("iss").GetString() != ClientEmail
            || c.GetProperty("aud").GetString() != TokenUrl || !c.GetProperty("scope").GetString()!.Contains("analytics.readonly", StringComparison.Ordinal)
            || c.GetProperty("exp").GetInt64() <= now || c.GetProperty("exp").GetInt64() - c.GetProperty("iat").GetInt64() > 3600)
        {
            await Error(context, 400, """{"error":"invalid_grant","error_description":"Invalid JWT: claims are wrong."}""");
            return;
        }
        var token = "ya29.fake-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        lock (_lock)
        {
            _validTokens.Add(token);
            IssuedTokens.Add(token);
        }
        await Error(context, 200, JsonSerializer.Serialize(new Dictionary<string, object> { ["access_token"] = token, ["expires_in"] = 3599, ["token_type"] = "Bearer" }));
    }

    private async Task ReportAsync(HttpContext context, string rest)
    {
        if (await Server.FaultAsync("report", context))
        {
            return;
        }
        var token = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        bool valid;
        lock (_lock)
        {
            valid = _validTokens.Contains(token);
        }
        if (!valid)
        {
            await Error(context, 401, """{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token.","status":"UNAUTHENTICATED"}}""");
            return;
        }
        const string prefix = "properties/", suffix = ":runReport";
        if (!rest.StartsWith(prefix, StringComparison.Ordinal) || !rest.EndsWith(suffix, StringComparison.Ordinal))
        {
            await Error(context, 404, """{"error":{"code":404,"message":"Not found","status":"NOT_FOUND"}}""");
            return;
        }
        var property = rest[prefix.Length..^suffix.Length];
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var r = request.RootElement;
        var range = r.GetProperty("dateRanges")[0];
        var from = DateOnly.Parse(range.GetProperty("startDate").GetString()!, CultureInfo.InvariantCulture);
        var to = DateOnly.Parse(range.GetProperty("endDate").GetString()!, CultureInfo.InvariantCulture);
        var metrics = r.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("name").GetString()!).ToList();
        var offset = r.TryGetProperty("offset", out var o) ? o.GetInt32() : 0;
        var limit = r.TryGetProperty("limit", out var l) ? l.GetInt32() : 10_000;
        var days = Data.GetValueOrDefault(property) ?? [];
        var rows = days.Where(d => d.Key >= from && d.Key <= to).OrderBy(d => d.Key).ToList();
        var answer = new Dictionary<string, object>
        {
            ["dimensionHeaders"] = new[] { new Dictionary<string, string> { ["name"] = "date" } },
            ["metricHeaders"] = (RenamedMetrics ?? metrics).Select(m => new Dictionary<string, string> { ["name"] = m, ["type"] = "TYPE_INTEGER" }).ToArray(),
            ["rowCount"] = rows.Count,
            ["metadata"] = new Dictionary<string, string> { ["currencyCode"] = "USD", ["timeZone"] = "Etc/UTC" },
            ["kind"] = "analyticsData#runReport",
        };
        foreach (var (name, value) in ExtraMembers)
        {
            answer[name] = value;
        }
        if (rows.Count > 0)
        {
            answer["rows"] = rows.Skip(offset).Take(limit).Select(d => new Dictionary<string, object>
            {
                ["dimensionValues"] = new[] { new Dictionary<string, string> { ["value"] = d.Key.ToString("yyyyMMdd", CultureInfo.InvariantCulture) } },
                ["metricValues"] = metrics.Select(m => new Dictionary<string, string> { ["value"] = d.Value.GetValueOrDefault(m).ToString(CultureInfo.InvariantCulture) }).ToArray(),
            }).ToArray();
        }
        else
        {
            // GA4 leaves rows (and rowCount) out of an empty report.
            answer.Remove("rowCount");
        }
        await Error(context, 200, JsonSerializer.Serialize(answer));
    }

    private static async Task Error(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(json);
    }

    public static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Key.Dispose();
    }
}
