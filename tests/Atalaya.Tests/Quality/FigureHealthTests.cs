using System.Globalization;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Reports;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Quality;

/// <summary>
/// Figures that know their own health: every KPI answer carries the state of the newest data-quality
/// run for what it was computed from, limited to the caller's countries and the answer's KPIs. A
/// real hub, real events, the real dq_health job; the tokens are a Mexican and a Colombian country
/// lead, a Mexican store's vendor and the admin.
/// </summary>
public sealed class FigureHealthTests : IAsyncLifetime
{
    private static readonly EnvironmentConfig Prod = new() { Environment = "prod" };

    private KpiHub _hub = null!;

    public async Task InitializeAsync() => _hub = await KpiHub.StartEmptyAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    private static string Noon(DateOnly day) => EventBuilder.At(new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero));

    /// <summary>
    /// Ten days of page views and orders in Mexico and Colombia, 12 of each a day, except that
    /// Mexico's page views stop yesterday: the volume of MX page views fails, nothing else does.
    /// </summary>
    private async Task MexicanPageViewsStopAsync()
    {
        var b = new EventBuilder("fh");
        var first = Today.AddDays(-10);
        b.StoreCreated(Noon(first.AddDays(-1)), "mx-1", "MX", "cdmx");
        b.StoreCreated(Noon(first.AddDays(-1)), "co-1", "CO", "bog");
        for (var day = first; day < Today; day = day.AddDays(1))
        {
            foreach (var (country, store) in new[] { ("MX", "mx-1"), ("CO", "co-1") })
            {
                for (var i = 0; i < 12; i++)
                {
                    var user = $"u-{country}-{day:MMdd}-{i}";
                    if (!(country == "MX" && day == Today.AddDays(-1)))
                    {
                        b.PageView(Noon(day), user, $"s-{user}", new Place(country));
                    }
                    b.Order(Noon(day), $"o-{user}", store, user, $"s-{user}");
                }
            }
        }
        await _hub.PostAsync(b.Events);
    }

    private PipelineRun RunChecks(TimeProvider? time = null)
    {
        var result = new JobRunner(_hub.Server.Hub.Database, _hub.Server.Hub.Kpis, Prod, time).Run(JobCatalog.QualityJob, "test");
        Assert.Equal(RunStatus.Success, result.Run!.Status);
        return result.Run;
    }

    private async Task<JsonElement> QualityAsync(string token, string pathAndQuery)
    {
        var (status, body) = await _hub.Api.GetAsync(pathAndQuery, token);
        Assert.True(status == System.Net.HttpStatusCode.OK, $"{pathAndQuery}: {(int)status} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("quality").Clone();
    }

    private static string State(JsonElement quality) => quality.GetProperty("state").GetString()!;

    private static List<JsonElement> Findings(JsonElement quality) => [.. quality.GetProperty("findings").EnumerateArray()];

    private static string? Country(JsonElement finding) => finding.GetProperty("country").GetString();

    [Fact]
    public async Task A_failing_check_for_MX_makes_MX_answers_failing_while_a_CO_only_lead_sees_fresh()
    {
        await MexicanPageViewsStopAsync();
        var admin = _hub.AdminToken;
        Assert.Equal("unchecked", State(await QualityAsync(admin, "/api/kpi/query?metric=pageviews")));
        var run = RunChecks();

        var mexico = _hub.Server.CreateToken(Role.CountryOpsLead, countries: ["MX"]);
        var colombia = _hub.Server.CreateToken(Role.CountryOpsLead, countries: ["CO"]);
        var vendor = _hub.Server.CreateToken(Role.Vendor, stores: ["mx-1"]);

        var mx = await QualityAsync(mexico, "/api/kpi/query?metric=pageviews,orders");
        Assert.Equal("failing", State(mx));
        Assert.Equal(run.RunId, mx.GetProperty("run_id").GetString());
        var volume = Assert.Single(Findings(mx), f => f.GetProperty("status").GetString() == "fail");
        Assert.Equal(("volume", "country:MX/event_type:page_view", "MX"), (volume.GetProperty("check").GetString(), volume.GetProperty("subject").GetString(), Country(volume)));
        // The check concerns the KPIs that read page views, not the orders.
        Assert.Equal(["pageviews"], volume.GetProperty("metrics").EnumerateArray().Select(m => m.GetString()!));
        Assert.NotEqual("failing", State(await QualityAsync(mexico, "/api/kpi/query?metric=orders")));
        Assert.Equal("failing", State(await QualityAsync(vendor, "/api/kpi/query?metric=pageviews")));
        Assert.Equal("failing", State(await QualityAsync(mexico, "/api/kpi/summary")));
        Assert.Equal("failing", State(await QualityAsync(mexico, "/api/kpi/timeseries?metric=pageviews&hours=24")));

        // Colombia's lead sees its own country's health only: fresh, and never a word of Mexico.
        foreach (var path in new[] { "/api/kpi/query?metric=pageviews,orders", "/api/kpi/summary", "/api/kpi/timeseries?metric=pageviews" })
        {
            var co = await QualityAsync(colombia, path);
            Assert.Equal("fresh", State(co));
            Assert.All(Findings(co), f => Assert.NotEqual("MX", Country(f)));
            Assert.DoesNotContain("MX", co.GetRawText(), StringComparison.Ordinal);
        }
        // The admin sees every country unless a filter narrows the answer.
        Assert.Equal("failing", State(await QualityAsync(admin, "/api/kpi/query?metric=pageviews")));
        Assert.Equal("fresh", State(await QualityAsync(admin, "/api/kpi/query?metric=pageviews&country=CO")));
        Assert.Equal("fresh", State(await QualityAsync(admin, "/api/kpi/query?metric=pageviews&store_id=co-1")));
    }

    [Fact]
    public async Task A_stale_feed_makes_answers_stale_since_its_last_event_was_received()
    {
        var b = new EventBuilder("st");
        for (var i = 0; i < 5; i++)
        {
            b.PageView(EventBuilder.At(DateTimeOffset.UtcNow.AddMinutes(-i)), $"u-{i}", $"s-{i}", new Place("MX"));
        }
        await _hub.PostAsync(b.Events);
        var mexico = _hub.Server.CreateToken(Role.CountryOpsLead, countries: ["MX"]);
        RunChecks();
        Assert.Equal("fresh", State(await QualityAsync(mexico, "/api/kpi/query?metric=pageviews")));

        // Eight hours later with nothing new: past the 6 h freshness limit of prod.
        RunChecks(new ShiftedTime(TimeSpan.FromHours(8)));
        var received = DateTimeOffset.FromUnixTimeMilliseconds(JobTestDataScalar("SELECT max(received_at) FROM event_blocks;"));
        var stale = await QualityAsync(mexico, "/api/kpi/query?metric=pageviews");
        Assert.Equal("stale", State(stale));
        Assert.Equal(PipelineRuns.Iso(received), stale.GetProperty("stale_since").GetString());
        var late = Assert.Single(Findings(stale), f => f.GetProperty("check").GetString() == "freshness");
        Assert.Equal(("country:MX", "MX", "fail"), (late.GetProperty("subject").GetString(), Country(late), late.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Reports_say_the_state_under_the_header_and_in_each_daily_csv_row()
    {
        await MexicanPageViewsStopAsync();
        RunChecks();
        var hub = _hub.Server.Hub;
        var builder = new ReportBuilder(hub.Kpis, "USD", hub.Health);
        var now = DateTimeOffset.UtcNow;

        var mx = Encoding.UTF8.GetString(builder.Build(new ReportRequest(ReportKind.Weekly, Today.AddDays(-1), ReportScope.Country("MX")), now).Content);
        Assert.Contains("<p class=\"quality\" data-state=\"failing\">Data quality: failing: volume MX (checked", mx, StringComparison.Ordinal);
        var co = Encoding.UTF8.GetString(builder.Build(new ReportRequest(ReportKind.Weekly, Today.AddDays(-1), ReportScope.Country("CO"), "es-MX"), now).Content);
        // The HTML escapes non-ASCII letters as character references: "al día".
        Assert.Contains("<p class=\"quality\" data-state=\"fresh\">Calidad de datos: al d&#237;a (verificada", co, StringComparison.Ordinal);

        var csv = Encoding.UTF8.GetString(builder.Build(new ReportRequest(ReportKind.Daily, Today.AddDays(-1), ReportScope.All), now).Content)
            .Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(',')).ToDictionary(f => (f[2], f[3]), f => f[7]);
        Assert.Equal("failing: volume country:MX/event_type:page_view", csv[("MX", "pageviews")]);
        Assert.Equal("fresh", csv[("MX", "orders")]);
        Assert.Equal("fresh", csv[("CO", "pageviews")]);
        Assert.Equal("failing: volume country:MX/event_type:page_view", csv[("ALL", "pageviews")]);
    }

    private long JobTestDataScalar(string sql) => Convert.ToInt64(Jobs.JobTestData.Scalar(_hub.Server.Hub.Database, sql), CultureInfo.InvariantCulture);

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + shift;
    }
}
