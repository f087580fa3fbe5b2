using System.Net;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Access;

/// <summary><c>GET /api/me</c>: a read token learns its own role and scope, through the same token check and audit as every read.</summary>
public sealed class MeEndpointTests
{
    [Fact]
    public async Task Each_read_token_learns_its_role_and_scope_and_the_call_is_audited()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var lead = hub.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead mx", Countries: ["MX"], Hubs: ["cdmx-norte"])).Secret;
        var vendor = hub.CreateToken(Role.Vendor, stores: ["st-7", "st-9"]);

        var (status, body) = await AccessHttp.GetAsync(hub.Client, "/api/me", lead);
        Assert.Equal(HttpStatusCode.OK, status);
        var me = JsonDocument.Parse(body).RootElement;
        Assert.Equal("country_ops_lead", me.GetProperty("role").GetString());
        Assert.Equal("lead mx", me.GetProperty("name").GetString());
        Assert.Equal(["MX"], me.GetProperty("countries").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["cdmx-norte"], me.GetProperty("hubs").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(me.GetProperty("stores").EnumerateArray());
        Assert.Equal("USD", me.GetProperty("reporting_currency").GetString());

        var vendorMe = JsonDocument.Parse((await AccessHttp.GetAsync(hub.Client, "/api/me", vendor)).Body).RootElement;
        Assert.Equal("vendor", vendorMe.GetProperty("role").GetString());
        Assert.Equal(["st-7", "st-9"], vendorMe.GetProperty("stores").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("admin", JsonDocument.Parse((await AccessHttp.GetAsync(hub.Client, "/api/me", admin)).Body).RootElement.GetProperty("role").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, "/api/me", "atl_admin_nope")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await AccessHttp.GetAsync(hub.Client, "/api/me", hub.WriteKey)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await AccessHttp.GetAsync(hub.Client, "/api/me?token=x", vendor)).Status);

        var (_, audit) = await AccessHttp.GetAsync(hub.Client, "/api/audit?action=GET%20/api/me", admin);
        var entries = JsonDocument.Parse(audit).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("role").GetString() == "vendor" && e.GetProperty("status").GetInt32() == 200);
        Assert.Contains(entries, e => e.GetProperty("role").GetString() == "country_ops_lead" && e.GetProperty("status").GetInt32() == 200);
    }
}
