using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Reports;

namespace Atalaya.Tests.Reports;

/// <summary>
/// <c>GET /api/reports</c> and <c>GET /api/reports/{id}</c> over a real hub: each reader lists and
/// fetches only the reports of its scope (a vendor its stores', a lead its countries'), anything
/// else is a 404 like an unknown id, and every call lands in the audit log.
/// </summary>
[Collection(ReportCollection.Name)]
public sealed class ReportApiTests(ReportFixture fixture)
{
    [Fact]
    public async Task Each_reader_lists_and_fetches_only_the_reports_of_its_scope()
    {
        var otherStore = fixture.Stores.First(s => s.Id != ReportFixture.VendorStore && s.Country == "MX").Id;
        var day = ReportFixture.Yesterday;
        var store = new ReportStore(fixture.Hub.Server.Hub.Database);
        var reports = new[]
        {
            fixture.Build(ReportKind.Daily, day, ReportScope.All),
            fixture.Build(ReportKind.Daily, day, ReportScope.Store(ReportFixture.VendorStore)),
            fixture.Build(ReportKind.Daily, day, ReportScope.Store(otherStore)),
            fixture.Build(ReportKind.Weekly, day, ReportScope.Country("MX"), "es-MX"),
            fixture.Build(ReportKind.Weekly, day, ReportScope.Country("CO"), "es-CO"),
        };
        foreach (var r in reports)
        {
            store.Save(r, DateTimeOffset.UtcNow, null);
        }
        var ids = reports.Select(r => r.Id).ToList();
        var analyst = fixture.Hub.Server.CreateToken(Role.Analyst);

        Assert.Equal(ids.Order(StringComparer.Ordinal), (await ListAsync(fixture.Hub.AdminToken)).Intersect(ids).Order(StringComparer.Ordinal));
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await ListAsync(analyst)).Intersect(ids).Order(StringComparer.Ordinal));
        var vendorList = await ListAsync(fixture.VendorToken);
        Assert.Equal([ids[1]], vendorList.Intersect(ids));
        Assert.All(vendorList, id => Assert.Contains("-store-" + ReportFixture.VendorStore, id, StringComparison.Ordinal));
        Assert.Equal([ids[3]], (await ListAsync(fixture.LeadToken)).Intersect(ids));
        Assert.Empty(await ListAsync(fixture.NarrowLeadToken));
        Assert.Equal([ids[4], ids[3]], (await ListAsync(fixture.Hub.AdminToken, "?kind=weekly")).Intersect(ids));

        var (status, body, headers) = await GetAsync("/api/reports/" + ids[1], fixture.VendorToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/csv; charset=utf-8", headers.ContentType!.ToString());
        Assert.Equal(reports[1].Content, body);
        (status, body, headers) = await GetAsync("/api/reports/" + ids[3], fixture.LeadToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("text/html", headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Equal(reports[3].Content, body);

        foreach (var (id, token) in new[] { (ids[2], fixture.VendorToken), (ids[0], fixture.VendorToken), (ids[4], fixture.LeadToken), (ids[0], fixture.LeadToken),
            (ids[3], fixture.NarrowLeadToken), ("daily-1999-01-01", fixture.Hub.AdminToken) })
        {
            (status, body, _) = await GetAsync("/api/reports/" + id, token);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Contains($"No report '{id}' visible to this token", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bad_requests_get_a_4xx_naming_the_problem_and_every_call_is_audited()
    {
        var report = fixture.Build(ReportKind.Daily, ReportFixture.Yesterday, ReportScope.Store(ReportFixture.VendorStore));
        new ReportStore(fixture.Hub.Server.Hub.Database).Save(report, DateTimeOffset.UtcNow, null);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/api/reports", null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync("/api/reports", fixture.Hub.Server.WriteKey)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync("/api/reports/" + report.Id, fixture.Hub.Server.WriteKey)).Status);
        var (status, body, _) = await GetAsync("/api/reports?kind=yearly", fixture.Hub.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("kind: 'yearly' is not one of daily, weekly, monthly", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        (status, body, _) = await GetAsync("/api/reports?store=x", fixture.Hub.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("unknown parameter 'store'", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync($"/api/reports/{report.Id}?download=1", fixture.VendorToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/api/reports/" + report.Id, fixture.VendorToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/reports/" + report.Id, fixture.LeadToken)).Status);

        using var connection = fixture.Hub.Server.Hub.Database.Connect();
        var entries = AuditLog.Query(connection, null, null, before, null, 1000).Select(r => r.Entry)
            .Where(e => e.Action.StartsWith("GET /api/reports", StringComparison.Ordinal)).ToList();
        Assert.Contains(entries, e => e.Action == "GET /api/reports/" + report.Id && e.Status == 200 && e.Role == "vendor" && e.Rows == 1);
        Assert.Contains(entries, e => e.Action == "GET /api/reports/" + report.Id && e.Status == 404 && e.Role == "country_ops_lead");
        Assert.Contains(entries, e => e.Action == "GET /api/reports/" + report.Id && e.Status == 400);
        Assert.Contains(entries, e => e.Action == "GET /api/reports" && e.Status == 400 && e.Params.Contains("yearly", StringComparison.Ordinal));
    }

    private async Task<List<string>> ListAsync(string token, string query = "")
    {
        var (status, body, _) = await GetAsync("/api/reports" + query, token);
        Assert.Equal(HttpStatusCode.OK, status);
        using var document = JsonDocument.Parse(body);
        var data = document.RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(data.Count, document.RootElement.GetProperty("count").GetInt32());
        Assert.All(data, d => Assert.Equal("/api/reports/" + d.GetProperty("id").GetString(), d.GetProperty("url").GetString()));
        return data.Select(d => d.GetProperty("id").GetString()!).ToList();
    }

    private async Task<(HttpStatusCode Status, byte[] Body, HttpContentHeaders Headers)> GetAsync(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await fixture.Hub.Server.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(), response.Content.Headers);
    }
}
