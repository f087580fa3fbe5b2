using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Connectors;
using Atalaya.Tests.Kpi.Http;
using Microsoft.Playwright;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// Like-for-like comparisons, with the hub's clock standing at 11:00 UTC: the cards compare today
/// until 11:00 with yesterday until 11:00 and with the 7-day average until 11:00 (checked against
/// the plain sum of the hourly figures before 11:00), say so, and the hourly chart ends at 11:00
/// instead of falling to 0 for the hours to come. The demo data runs to the end of that day, so
/// there are events "later today" the page must leave out of the comparison.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardClockTests(DashboardFixture fixture, DashboardClockTests.ClockHub clockHub) : IClassFixture<DashboardClockTests.ClockHub>
{
    private static readonly Dictionary<string, string> UntilEleven = new()
    {
        ["en"] = "today vs yesterday until 11:00",
        ["es-MX"] = "hoy vs. ayer hasta las 11:00",
        ["es-CO"] = "hoy vs. ayer hasta las 11:00",
        ["es-CL"] = "hoy vs. ayer hasta las 11:00",
        ["sv-SE"] = "i dag mot i går till 11:00",
    };

    private KpiHub Hub => clockHub.Hub;

    private DateTimeOffset Now => clockHub.Now;

    /// <summary>
    /// A small demo hub whose clock stands at 11:00 UTC of a fixed day: whole days before it,
    /// events after it. Fixed, not the real date: the demo marketplace sells in the Americas, so a
    /// day may have no order before 11:00 UTC, and with the real date the test's days (and whether
    /// yesterday had an order to compare with) changed with the time the suite ran.
    /// </summary>
    public sealed class ClockHub : IAsyncLifetime
    {
        public KpiHub Hub { get; private set; } = null!;

        public DateTimeOffset Now { get; } = new(2026, 11, 18, 11, 0, 0, TimeSpan.Zero);

        public async Task InitializeAsync() =>
            Hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 9, Seed: 7, EndDate: DateOnly.FromDateTime(Now.UtcDateTime), SessionsPerDay: 150),
                o => o with { Time = new MovableClock(Now) });

        public async Task DisposeAsync() => await Hub.DisposeAsync();
    }

    [Fact]
    public async Task The_summary_api_with_compare_same_time_stops_every_day_at_the_same_hour()
    {
        var reference = await ReferenceAsync("orders");
        using var summary = await GetAsync("/api/kpi/summary?metric=orders,gmv&compare=same_time");
        var root = summary.RootElement;
        Assert.Equal("same_time", root.GetProperty("compare").GetString());
        Assert.Equal("11:00", root.GetProperty("until").GetString());
        var orders = root.GetProperty("data").EnumerateArray().Single(r => r.GetProperty("metric").GetString() == "orders");
        Assert.Equal(reference.Yesterday, orders.GetProperty("yesterday").GetDouble());
        Assert.Equal(reference.Average, orders.GetProperty("avg_7d").GetDouble(), 6);
        Assert.Equal(reference.Today, orders.GetProperty("today").GetDouble());

        // Without compare the answer keeps its meaning: yesterday is the whole day.
        using var whole = await GetAsync("/api/kpi/summary?metric=orders");
        Assert.False(whole.RootElement.TryGetProperty("compare", out _));
        var wholeYesterday = whole.RootElement.GetProperty("data")[0].GetProperty("yesterday").GetDouble();
        Assert.Equal(reference.WholeYesterday, wholeYesterday);
        Assert.True(wholeYesterday > reference.Yesterday, "yesterday after 11:00 had no orders: the test data cannot tell the two apart");
    }

    [Fact]
    public async Task In_a_zone_behind_utc_every_day_stops_at_the_same_local_time()
    {
        // 11:00 UTC is 05:00 in Mexico City: each local day counts its hours before 05:00.
        using var answer = await GetAsync("/api/kpi/summary?metric=orders&compare=same_time&tz=America/Mexico_City");
        Assert.Equal("05:00", answer.RootElement.GetProperty("until").GetString());
        var row = answer.RootElement.GetProperty("data")[0];
        var local = TimeZoneInfo.ConvertTime(Now, TimeZoneInfo.FindSystemTimeZoneById("America/Mexico_City"));
        var today = DateOnly.FromDateTime(local.DateTime);
        using var hourly = await GetAsync($"/api/kpi/query?metric=orders&aggregate=hourly&tz=America/Mexico_City&start_date={today.AddDays(-7):yyyy-MM-dd}&end_date={today:yyyy-MM-dd}&limit=100000");
        var hours = hourly.RootElement.GetProperty("data").EnumerateArray()
            .Select(r => (Period: DateTimeOffset.Parse(r.GetProperty("period").GetString()!, CultureInfo.InvariantCulture), Value: r.GetProperty("value").GetDouble()))
            .ToList();
        double Until(DateOnly day) => hours.Where(h => DateOnly.FromDateTime(h.Period.DateTime) == day && h.Period.Hour < 5).Sum(h => h.Value);
        Assert.Equal(Until(today.AddDays(-1)), row.GetProperty("yesterday").GetDouble());
        Assert.Equal(Enumerable.Range(1, 7).Average(back => Until(today.AddDays(-back))), row.GetProperty("avg_7d").GetDouble(), 6);
        Assert.Equal(Until(today), row.GetProperty("today").GetDouble());
    }

    [Theory]
    [InlineData("en", 1366)]
    [InlineData("en", 390)]
    [InlineData("es-MX", 1366)]
    [InlineData("es-CO", 390)]
    [InlineData("es-CL", 1366)]
    [InlineData("sv-SE", 390)]
    [InlineData("sv-SE", 1366)]
    public async Task Cards_compare_today_until_now_with_yesterday_until_the_same_hour_and_the_hourly_chart_stops_now(string locale, int width)
    {
        var orders = await ReferenceAsync("orders");
        var gmv = await ReferenceAsync("gmv");
        Assert.True(orders.Yesterday > 0 && gmv.Yesterday > 0 && orders.Average > 0, "the fixed day's data has no order before 11:00 yesterday: no change to compare");
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Hub.Server.BaseAddress.ToString(),
            Locale = locale,
            ViewportSize = new ViewportSize { Width = width, Height = 900 },
        });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/?start_date=today");
        await page.FillAsync("#token", Hub.AdminToken);
        await page.ClickAsync("#login-form button[type=submit]");
        await page.WaitForFunctionAsync("() => document.querySelector('#cards')?.dataset.state === 'ready' && document.querySelector('#panel-trend')?.dataset.state === 'ready'");

        foreach (var (metric, reference) in new[] { ("orders", orders), ("gmv", gmv) })
        {
            var change = await page.GetAttributeAsync($"[data-metric={metric}] .change", "data-change");
            Assert.Equal(100.0 * (reference.Today - reference.Yesterday) / reference.Yesterday, double.Parse(change!, CultureInfo.InvariantCulture), 6);
            var average = await page.GetAttributeAsync($"[data-metric={metric}] .compare", "data-change");
            Assert.Equal(100.0 * (reference.Today - reference.Average) / reference.Average, double.Parse(average!, CultureInfo.InvariantCulture), 6);
            Assert.Contains(UntilEleven[locale], await page.InnerTextAsync($"[data-metric={metric}] .change"), StringComparison.Ordinal);
        }

        // The hourly chart: today's hours 00:00 to 11:00, each the API's figure; nothing after now.
        var series = JsonDocument.Parse((await page.GetAttributeAsync("#panel-trend .chart", "data-series"))!);
        var shown = series.RootElement.EnumerateArray().Single(s => s.GetProperty("id").GetString() == "orders").GetProperty("data")
            .EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(orders.TodayHours.Take(12), shown);
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than the {width} px screen");
        if (width == 1366 && locale is "en" or "es-MX")
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, $"like-for-like-{locale}.png") });
        }
    }

    private sealed record Reference(double Today, double Yesterday, double Average, double WholeYesterday, double[] TodayHours);

    /// <summary>The plain computation: each day's hourly figures before 11:00, added up (orders and GMV are sums over hours).</summary>
    private async Task<Reference> ReferenceAsync(string metric)
    {
        var today = DateOnly.FromDateTime(Now.UtcDateTime);
        var start = today.AddDays(-7).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using var answer = await GetAsync($"/api/kpi/query?metric={metric}&aggregate=hourly&start_date={start}&end_date={today:yyyy-MM-dd}&limit=100000");
        var hours = answer.RootElement.GetProperty("data").EnumerateArray()
            .Select(r => (Period: DateTimeOffset.Parse(r.GetProperty("period").GetString()!, CultureInfo.InvariantCulture), Value: r.GetProperty("value").GetDouble()))
            .ToList();
        double Until(DateOnly day) => hours.Where(h => DateOnly.FromDateTime(h.Period.UtcDateTime) == day && h.Period.Hour < 11).Sum(h => h.Value);
        var week = Enumerable.Range(1, 7).Select(back => Until(today.AddDays(-back))).ToList();
        return new Reference(Until(today), Until(today.AddDays(-1)), week.Average(),
            hours.Where(h => DateOnly.FromDateTime(h.Period.UtcDateTime) == today.AddDays(-1)).Sum(h => h.Value),
            [.. hours.Where(h => DateOnly.FromDateTime(h.Period.UtcDateTime) == today).OrderBy(h => h.Period).Select(h => h.Value)]);
    }

    private async Task<JsonDocument> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Hub.AdminToken);
        using var response = await Hub.Server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }
}
