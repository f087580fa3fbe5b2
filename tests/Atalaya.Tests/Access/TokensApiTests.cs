using System.Net;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Access;

/// <summary><c>GET|POST /api/tokens</c> and <c>DELETE /api/tokens/{id}</c>: admin only, the secret shown once and stored nowhere.</summary>
public sealed class TokensApiTests
{
    [Fact]
    public async Task Creating_a_token_answers_201_with_its_secret_once_and_the_secret_is_stored_nowhere()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);

        var (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin,
            """{"role": "vendor", "name": "Tienda uno", "stores": ["st-1", "st-2"]}""");

        Assert.Equal(HttpStatusCode.Created, status);
        var created = JsonDocument.Parse(body).RootElement;
        var secret = created.GetProperty("token").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("atl_vendor_", secret, StringComparison.Ordinal);
        Assert.True(secret.Length >= "atl_vendor_".Length + 43, $"the secret {secret.Length} characters long carries less than 256 bits");
        Assert.Equal("vendor", created.GetProperty("role").GetString());
        Assert.Equal(["st-1", "st-2"], created.GetProperty("stores").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, "/api/kpi/query?metric=orders", secret)).Status);

        var (listStatus, list) = await AccessHttp.GetAsync(hub.Client, "/api/tokens", admin);
        Assert.Equal(HttpStatusCode.OK, listStatus);
        var listed = JsonDocument.Parse(list).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Contains(listed, t => t.GetProperty("id").GetString() == id && t.GetProperty("name").GetString() == "Tienda uno");
        Assert.DoesNotContain("atl_", list, StringComparison.Ordinal);
        Assert.All(listed, t => Assert.False(t.TryGetProperty("token", out _), "a listed token has a 'token' field"));
        var (_, audit) = await AccessHttp.GetAsync(hub.Client, "/api/audit?limit=10000", admin);
        Assert.DoesNotContain(secret, audit, StringComparison.Ordinal);

        // Nowhere on disk either: only its hash is kept.
        await hub.RestartAsync(() =>
        {
            foreach (var file in Directory.GetFiles(hub.DataDirectory, "*", SearchOption.AllDirectories))
            {
                var bytes = File.ReadAllBytes(file);
                Assert.False(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0, $"{Path.GetFileName(file)} holds the secret");
            }
        });
    }

    [Theory]
    [InlineData("{}", "role")]
    [InlineData("""{"role": "owner"}""", "role")]
    [InlineData("""{"role": 3}""", "role")]
    [InlineData("""{"role": "vendor"}""", "store")]
    [InlineData("""{"role": "vendor", "stores": []}""", "store")]
    [InlineData("""{"role": "vendor", "stores": "st-1"}""", "stores")]
    [InlineData("""{"role": "vendor", "stores": [""]}""", "stores")]
    [InlineData("""{"role": "country_ops_lead"}""", "country")]
    [InlineData("""{"role": "country_ops_lead", "hubs": ["cdmx-norte"]}""", "country")]
    [InlineData("""{"role": "write", "source": "not a source!"}""", "source")]
    [InlineData("""["admin"]""", "JSON object")]
    [InlineData("role=admin", "JSON object")]
    public async Task Creating_a_token_with_a_bad_role_or_scope_answers_400_saying_what_is_wrong(string json, string named)
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var before = hub.Hub.Tokens.List().Count;

        var (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(named, AccessHttp.Error(body), StringComparison.Ordinal);
        Assert.Equal(before, hub.Hub.Tokens.List().Count);
    }

    [Fact]
    public async Task Revoking_answers_200_once_then_404_and_an_unknown_id_answers_404()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var (token, _) = hub.Hub.Tokens.Create(new TokenRequest(Role.Analyst, "a"));

        Assert.Equal(HttpStatusCode.NotFound, (await AccessHttp.SendAsync(hub.Client, HttpMethod.Delete, "/api/tokens/tok_000000000000", admin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.SendAsync(hub.Client, HttpMethod.Delete, $"/api/tokens/{token.Id}", admin)).Status);
        var (again, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Delete, $"/api/tokens/{token.Id}", admin);

        Assert.Equal(HttpStatusCode.NotFound, again);
        Assert.Contains(token.Id, AccessHttp.Error(body), StringComparison.Ordinal);
        Assert.NotNull(hub.Hub.Tokens.List().Single(t => t.Id == token.Id).RevokedAt);
    }

    [Fact]
    public async Task Only_admin_tokens_list_create_and_revoke_tokens_and_read_the_audit_log()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var (victim, _) = hub.Hub.Tokens.Create(new TokenRequest(Role.Analyst, "victim"));
        var callers = new (string Name, string? Secret, HttpStatusCode Expected)[]
        {
            ("analyst", hub.CreateToken(Role.Analyst), HttpStatusCode.Forbidden),
            ("country_ops_lead", hub.CreateToken(Role.CountryOpsLead, countries: ["MX"]), HttpStatusCode.Forbidden),
            ("vendor", hub.CreateToken(Role.Vendor, stores: ["st-1"]), HttpStatusCode.Forbidden),
            ("write key", hub.WriteKey, HttpStatusCode.Forbidden),
            ("unknown token", "atl_admin_" + new string('x', 43), HttpStatusCode.Unauthorized),
            ("no token", null, HttpStatusCode.Unauthorized),
        };
        var tokensBefore = hub.Hub.Tokens.List().Count;
        foreach (var (name, secret, expected) in callers)
        {
            foreach (var (method, path, json) in new (HttpMethod, string, string?)[]
            {
                (HttpMethod.Get, "/api/tokens", null),
                (HttpMethod.Post, "/api/tokens", """{"role": "admin"}"""),
                (HttpMethod.Delete, $"/api/tokens/{victim.Id}", null),
                (HttpMethod.Get, "/api/audit", null),
            })
            {
                var (status, body) = await AccessHttp.SendAsync(hub.Client, method, path, secret, json);
                Assert.True(status == expected, $"{method} {path} as {name}: expected {(int)expected}, got {(int)status} {body}");
                Assert.DoesNotContain("tok_", body, StringComparison.Ordinal);
            }
        }

        Assert.Equal(tokensBefore, hub.Hub.Tokens.List().Count);
        Assert.Null(hub.Hub.Tokens.List().Single(t => t.Id == victim.Id).RevokedAt);
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, "/api/tokens", admin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, "/api/audit", admin)).Status);
    }
}
