using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.ClickHouse;

/// <summary>
/// ClickHouse's own funnels and retention cohorts (<see cref="AnalysisFigures"/>) on events chosen for
/// the cases the conformance datasets lack, each checked against the figures worked out by hand and
/// against an embedded hub fed the same events: steps of the same millisecond stored in reverse
/// order, a chain restarted by a later first step, an order whose later snapshot names another
/// person, an order first placed before the range, an anonymous buyer, and a week that starts a day
/// later in Stockholm than in UTC.
/// </summary>
public sealed class AnalysisFiguresTests(ClickHouseServer server) : IClassFixture<ClickHouseServer>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static readonly string[] Steps = ["page_view", "add_to_cart", "purchase_completed"];

    [Fact]
    public async Task Funnels_and_cohorts_counted_by_ClickHouse_equal_the_hand_count_and_the_embedded_engine()
    {
        var t = new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
        JsonObject[] events =
        [
            // u1: the cart stored before the page view of the same millisecond, then the purchase: 3 steps.
            Event("add_to_cart", "f1", t, user: "u1"),
            Event("page_view", "f2", t, user: "u1"),
            Event("purchase_completed", "f3", t.AddMinutes(10), user: "u1", order: "fo1"),
            // u2: the cart two hours after the view, outside the hour: 1 step.
            Event("page_view", "f4", t, user: "u2"),
            Event("add_to_cart", "f5", t.AddHours(2), user: "u2"),
            // a3, anonymous: the purchase stored before the cart of the same millisecond: 3 steps.
            Event("page_view", "f6", t, anonymous: "a3"),
            Event("purchase_completed", "f7", t.AddMilliseconds(1), anonymous: "a3", order: "fo2"),
            Event("add_to_cart", "f8", t.AddMilliseconds(1), anonymous: "a3"),
            // u4: the cart 70 minutes after the first view but 40 after the second: 2 steps.
            Event("page_view", "f9", t, user: "u4"),
            Event("page_view", "f10", t.AddMinutes(30), user: "u4"),
            Event("add_to_cart", "f11", t.AddMinutes(70), user: "u4"),

            // Orders for the cohorts (February to April 2026).
            Event("purchase_completed", "r1", At("2026-02-10T09:00:00Z"), user: "u1", order: "o1"),
            // o1's later snapshot names u9: the order counts once, at its first event, for u1.
            Event("purchase_completed", "r2", At("2026-03-05T09:00:00Z"), user: "u9", order: "o1"),
            Event("purchase_completed", "r3", At("2026-03-20T09:00:00Z"), user: "u1", order: "o2"),
            Event("purchase_completed", "r4", At("2026-03-01T09:00:00Z"), user: "u2", order: "o3"),
            // o4 was first placed before the range: its snapshot in March does not count.
            Event("purchase_completed", "r5", At("2026-01-31T20:00:00Z"), user: "u5", order: "o4"),
            Event("purchase_completed", "r6", At("2026-03-15T09:00:00Z"), user: "u5", order: "o4"),
            Event("purchase_completed", "r7", At("2026-04-02T09:00:00Z"), anonymous: "a5", order: "o5"),
            // Sunday 29 March 23:30 UTC is Monday 30 March 01:30 in Stockholm: another week there.
            Event("purchase_completed", "r8", At("2026-03-29T23:30:00Z"), user: "u6", order: "o6"),
        ];
        await using var hub = await TestHub.StartAsync();
        using (var response = await hub.PostEventsAsync(new JsonArray([.. events]).ToJsonString()))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        var stored = StoredEvents.Query(hub.DataDirectory, "SELECT event FROM raw_events ORDER BY seq");
        Assert.Equal(events.Length, stored.Count);
        var clickHouse = await server.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, None);
        var inserted = await new ClickHouseEventWriter(clickHouse).InsertAsync([.. stored.Select(s => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(s))], None);
        Assert.Equal(events.Length, inserted.Inserted);

        var day = DateOnly.FromDateTime(t.UtcDateTime);
        var from = new DateTimeOffset(t.Date, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var funnel = await AnalysisFigures.FunnelAsync(clickHouse, Steps, 3_600_000, from, from + 86_400_000, None);
        Assert.Equal([4L, 3, 2], funnel);
        var engine = hub.Hub.Kpis.Funnel(Steps, TimeSpan.FromHours(1), day, day, TimeZoneInfo.Utc, DimensionFilter.None, AccessScope.Everything);
        Assert.Equal(funnel, engine.Select(s => s.Users));

        var stockholm = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");
        foreach (var (weekly, tz, expected) in new (bool, TimeZoneInfo, string[])[]
        {
            // u1 from February (o1; fo1 and o2 in March); u2, u6 and a3 from March; a5 in April.
            (false, TimeZoneInfo.Utc, ["2026-02 +0: 1", "2026-02 +1: 1", "2026-03 +0: 3", "2026-04 +0: 1"]),
            (true, TimeZoneInfo.Utc, ["2026-02-09 +0: 1", "2026-02-09 +4: 1", "2026-02-09 +5: 1", "2026-02-23 +0: 1", "2026-03-09 +0: 1", "2026-03-23 +0: 1", "2026-03-30 +0: 1"]),
            (true, stockholm, ["2026-02-09 +0: 1", "2026-02-09 +4: 1", "2026-02-09 +5: 1", "2026-02-23 +0: 1", "2026-03-09 +0: 1", "2026-03-30 +0: 2"]),
        })
        {
            var (start, end) = (new DateOnly(2026, 2, 1), new DateOnly(2026, 4, 30));
            var (fromMs, toMs) = (PeriodGrid.LocalMidnight(start, tz), PeriodGrid.LocalMidnight(end.AddDays(1), tz));
            var cells = (await AnalysisFigures.RetentionAsync(clickHouse, weekly, fromMs, toMs, tz, None)).Select(c => $"{c.Cohort} +{c.PeriodsSinceFirst}: {c.Users}");
            Assert.Equal(expected, cells.Order(StringComparer.Ordinal));
            var embedded = hub.Hub.Kpis.Retention(weekly, start, end, tz, DimensionFilter.None, AccessScope.Everything)
                .Select(c => $"{c.Cohort} +{c.PeriodsSinceFirst}: {c.Users}");
            Assert.Equal(expected, embedded.Order(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// A session is dated by its first catalog event, as the KPIs date it: one whose first event is of
    /// a custom type counts on the day of its first catalog event, one of custom events only counts
    /// nowhere, and bounce counts catalog events only. A database the first four schema steps made
    /// (sessions dated by any event) is brought there by step 5 at the next start, also when two
    /// nodes run the step at once, and the first step's table is gone.
    /// </summary>
    [Fact]
    public async Task Sessions_start_at_their_first_catalog_event_also_in_a_database_an_older_Atalaya_made()
    {
        var day1 = new DateTimeOffset(2026, 3, 10, 23, 0, 0, TimeSpan.Zero);
        JsonObject Session(string type, string id, DateTimeOffset at, string session)
        {
            var e = Event(type, id, at, user: "u-" + session);
            e["session_id"] = session;
            return e;
        }
        JsonObject[] events =
        [
            // s1: a custom event on the 10th, then two page views on the 11th.
            Session("widget_opened", "c1", day1, "s1"),
            Session("page_view", "c2", day1.AddHours(2), "s1"),
            Session("page_view", "c3", day1.AddHours(3), "s1"),
            // s2: custom events only.
            Session("widget_opened", "c4", day1, "s2"),
            // s3: one page view and a custom event on the 10th: a bounce.
            Session("page_view", "c5", day1.AddMinutes(-5), "s3"),
            Session("widget_opened", "c6", day1.AddMinutes(-4), "s3"),
        ];
        await using var hub = await TestHub.StartAsync();
        using (var response = await hub.PostEventsAsync(new JsonArray([.. events]).ToJsonString()))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        var stored = StoredEvents.Query(hub.DataDirectory, "SELECT event FROM raw_events ORDER BY seq");
        Assert.Contains(stored, e => e.Contains("\"custom\":true", StringComparison.Ordinal));
        var clickHouse = await server.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, 4, None);
        await new ClickHouseEventWriter(clickHouse).InsertAsync([.. stored.Select(text => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(text))], None);
        var (from, to) = (new DateOnly(2026, 3, 10), new DateOnly(2026, 3, 11));
        // As the first steps left it: every session counted, s1 and s2 by their custom events.
        Assert.Equal("3", await clickHouse.ScalarAsync("SELECT count() FROM (SELECT id FROM kpi_sessions GROUP BY id HAVING tupleElement(minMerge(first), 1) < 1773187200000)", None));

        // Two nodes starting together both run step 5.
        await Task.WhenAll(EventsSchema.EnsureAsync(clickHouse, None), EventsSchema.EnsureAsync(clickHouse, None));

        string[] expected = ["bounce_rate 2026-03-10 MX 100", "sessions 2026-03-10 MX 1", "sessions 2026-03-11 MX 1"];
        Assert.Equal(expected, await FiguresAsync(clickHouse, from, to, "sessions", "bounce_rate"));
        var engine = hub.Hub.Kpis.Query(new KpiQuery([Engine.Kpi.KpiId.Sessions, Engine.Kpi.KpiId.BounceRate], from, to, Aggregate.Daily, TimeZoneInfo.Utc,
            DimensionFilter.None, [Engine.Catalog.Dimension.Country], AccessScope.Everything)).Rows
            .Where(r => r.Value is { } v && v != 0)
            .Select(r => $"{Engine.Kpi.KpiIds.Name(r.Metric)} {r.Period} {r.Group[0]} {r.Value!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.Equal(expected, engine.Order(StringComparer.Ordinal));
        Assert.Equal("0", await clickHouse.ScalarAsync($"SELECT count() FROM system.tables WHERE database = {ClickHouseClient.Literal(clickHouse.Database)} AND name LIKE 'kpi_sessions%'", None));
    }

    private static async Task<List<string>> FiguresAsync(ClickHouseClient clickHouse, DateOnly from, DateOnly to, params string[] metrics) =>
        [.. (await KpiAggregates.DailyAsync(clickHouse, from, to, None)).Where(c => metrics.Contains(c.Metric))
            .Select(c => $"{c.Metric} {c.Day:yyyy-MM-dd} {c.Country} {((double)c.Value).ToString(System.Globalization.CultureInfo.InvariantCulture)}")
            .Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Ranges_past_what_ClickHouses_functions_take_are_refused_naming_the_limit()
    {
        var clickHouse = await server.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, None);
        var funnel = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AnalysisFigures.FunnelAsync(clickHouse, Steps, 60_000, 0, 50L * 86_400_000, None));
        Assert.Contains("at most 49.7 days", funnel.Message, StringComparison.Ordinal);
        var retention = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AnalysisFigures.RetentionAsync(clickHouse, false, 0, 1000L * 86_400_000, TimeZoneInfo.Utc, None));
        Assert.Contains("at most 32 months", retention.Message, StringComparison.Ordinal);
        // 32 weeks is the most a weekly range may span; one period works as well (retention itself takes two or more).
        Assert.Empty(await AnalysisFigures.RetentionAsync(clickHouse, true, PeriodGrid.LocalMidnight(new DateOnly(2026, 1, 5), TimeZoneInfo.Utc),
            PeriodGrid.LocalMidnight(new DateOnly(2026, 1, 5).AddDays(7 * 32), TimeZoneInfo.Utc), TimeZoneInfo.Utc, None));
        Assert.Empty(await AnalysisFigures.RetentionAsync(clickHouse, false, 0, 86_400_000, TimeZoneInfo.Utc, None));
    }

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    private static JsonObject Event(string type, string id, DateTimeOffset at, string? user = null, string? anonymous = null, string? order = null)
    {
        var e = Events.Valid(type, id);
        e["timestamp"] = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        e.Remove("user_id");
        if (user is not null)
        {
            e["user_id"] = user;
        }
        if (anonymous is not null)
        {
            e["anonymous_id"] = anonymous;
        }
        if (order is not null)
        {
            e["properties"]!["order_id"] = order;
        }
        return e;
    }
}
