using System.Globalization;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Demo;

namespace Atalaya.Tests.Demo;

public sealed class DemoGeneratorTests(DemoRun run) : IClassFixture<DemoRun>
{
    private static readonly DemoOptions Small = new(Days: 3, Seed: 42, EndDate: new DateOnly(2026, 2, 10), SessionsPerDay: 150);

    /// <summary>the event catalog (docs/events.md).</summary>
    private static readonly string[] CatalogTypes =
    [
        "page_view", "store_visited", "product_viewed", "product_searched", "add_to_cart", "checkout_started",
        "purchase_completed", "order_status_changed", "payment_succeeded", "payment_failed", "lead_created",
        "user_signed_up", "store_created", "subscription_charged",
    ];

    [Fact]
    public void Same_options_give_byte_identical_output()
    {
        var first = DemoGenerator.Generate(Small).ToList();
        var second = DemoGenerator.Generate(Small).ToList();

        Assert.NotEmpty(first);
        Assert.Equal(first.Count, second.Count);
        for (var i = 0; i < first.Count; i++)
        {
            Assert.True(first[i].AsSpan().SequenceEqual(second[i]), $"event {i} differs");
        }
    }

    [Fact]
    public void A_different_seed_gives_different_events()
    {
        var first = DemoGenerator.Generate(Small).Take(200).ToList();
        var other = DemoGenerator.Generate(Small with { Seed = 43 }).Take(200).ToList();

        Assert.False(first.Zip(other).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second)));
    }

    [Fact]
    public void Scale_multiplies_the_stores_and_the_daily_volume()
    {
        var single = DemoGenerator.Generate(Small).Select(bytes => JsonDocument.Parse(bytes)).ToList();
        var doubled = DemoGenerator.Generate(Small with { Scale = 2 }).Select(bytes => JsonDocument.Parse(bytes)).ToList();

        static HashSet<string> Stores(List<JsonDocument> events) => events
            .Where(d => d.RootElement.GetProperty("event_type").GetString() == "store_created")
            .Select(d => d.RootElement.GetProperty("properties").GetProperty("store_id").GetString()!)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(2 * Stores(single).Count, Stores(doubled).Count);
        Assert.InRange((double)doubled.Count / single.Count, 1.7, 2.3);
        single.Concat(doubled).ToList().ForEach(d => d.Dispose());
    }

    [Fact]
    public void Writes_one_json_event_per_line_and_returns_the_count()
    {
        using var output = new MemoryStream();
        var reported = new List<long>();

        var count = DemoGenerator.WriteNdjson(Small, output, reported.Add);

        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        Assert.Equal(count, lines.Length);
        Assert.Equal(count, reported[^1]);
        foreach (var line in lines)
        {
            using var document = JsonDocument.Parse(line);
            var e = document.RootElement;
            Assert.Equal(JsonValueKind.Object, e.ValueKind);
            Assert.False(string.IsNullOrEmpty(e.GetProperty("event_id").GetString()));
            Assert.False(string.IsNullOrEmpty(e.GetProperty("event_type").GetString()));
            Assert.EndsWith("Z", e.GetProperty("timestamp").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_catalog_event_type_and_order_status_occurs()
    {
        var types = run.Events.Select(e => e.GetProperty("event_type").GetString()).ToHashSet();
        var statuses = run.OfType("order_status_changed")
            .Select(e => e.GetProperty("properties").GetProperty("status").GetString())
            .ToHashSet();

        Assert.All(CatalogTypes, type => Assert.Contains(type, types));
        Assert.Contains(types, type => !CatalogTypes.Contains(type));
        Assert.Equal(["CANCELADO", "CREADO", "ENTREGADO", "EN_CAMINO", "EN_PREPARACION", "PAGADO", "REEMBOLSADO"], statuses.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Event_ids_are_unique_uuids()
    {
        var ids = run.Events.Select(e => e.GetProperty("event_id").GetString()!).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids.Take(1000), id => Assert.True(Guid.TryParseExact(id, "D", out _), id));
    }

    [Fact]
    public void Order_totals_are_subtotal_plus_delivery_fee()
    {
        var orders = run.OfType("purchase_completed").Select(e => e.GetProperty("properties")).ToList();

        Assert.NotEmpty(orders);
        foreach (var order in orders)
        {
            var items = order.GetProperty("items").EnumerateArray()
                .Sum(item => item.GetProperty("price").GetDecimal() * item.GetProperty("quantity").GetInt32());
            Assert.Equal(items, order.GetProperty("subtotal").GetDecimal());
            Assert.Equal(order.GetProperty("subtotal").GetDecimal() + order.GetProperty("delivery_fee").GetDecimal(),
                order.GetProperty("total").GetDecimal());
        }
        Assert.Contains(orders, order => order.GetProperty("total").GetDecimal() == 0);
    }

    [Fact]
    public void Final_snapshots_add_up()
    {
        var snapshots = run.OfType("order_status_changed")
            .Select(e => e.GetProperty("properties"))
            .Where(p => p.TryGetProperty("snapshot", out _))
            .ToList();

        Assert.All(snapshots, p => Assert.Contains(p.GetProperty("status").GetString(), new[] { "ENTREGADO", "CANCELADO", "REEMBOLSADO" }));
        foreach (var snapshot in snapshots.Select(p => p.GetProperty("snapshot")))
        {
            Assert.Equal(
                snapshot.GetProperty("subtotal").GetDecimal() + snapshot.GetProperty("delivery_fee").GetDecimal() - snapshot.GetProperty("discount").GetDecimal(),
                snapshot.GetProperty("total").GetDecimal());
            Assert.True(snapshot.GetProperty("fx_rate_to_reporting").GetDecimal() > 0);
        }
        Assert.Equal(
            run.OfType("order_status_changed").Count(e => e.GetProperty("properties").GetProperty("status").GetString() is "ENTREGADO" or "CANCELADO" or "REEMBOLSADO"),
            snapshots.Count);
    }

    [Fact]
    public void Amounts_are_rounded_to_the_currency_minor_unit()
    {
        foreach (var order in run.OfType("purchase_completed").Select(e => e.GetProperty("properties")))
        {
            var digits = order.GetProperty("currency").GetString() == "CLP" ? 0 : 2;
            foreach (var name in new[] { "subtotal", "delivery_fee", "total" })
            {
                var amount = order.GetProperty(name).GetDecimal();
                Assert.Equal(Math.Round(amount, digits), amount);
            }
        }
    }

    [Fact]
    public void Bounce_share_is_between_30_and_50_percent()
    {
        var eventsPerSession = run.Events
            .Where(e => e.TryGetProperty("session_id", out _))
            .GroupBy(e => e.GetProperty("session_id").GetString())
            .Select(g => g.Count())
            .ToList();

        var bounceShare = 100.0 * eventsPerSession.Count(n => n == 1) / eventsPerSession.Count;

        Assert.InRange(bounceShare, 30, 50);
    }

    [Fact]
    public void Timestamps_lie_within_the_requested_days_in_time_order()
    {
        var first = DemoRun.Options.EndDate!.Value.AddDays(1 - DemoRun.Options.Days).ToDateTime(TimeOnly.MinValue);
        var end = DemoRun.Options.EndDate!.Value.AddDays(1).ToDateTime(TimeOnly.MinValue);
        var timestamps = run.Events.Select(Timestamp).ToList();

        Assert.All(timestamps, t => Assert.InRange(t, first, end.AddTicks(-1)));
        Assert.Equal(timestamps.Order(), timestamps);
        Assert.Equal(DemoRun.Options.Days, timestamps.Select(t => t.Date).Distinct().Count());
    }

    [Fact]
    public void A_range_ending_today_has_no_events_after_now()
    {
        var events = DemoGenerator.Generate(new DemoOptions(Days: 2, SessionsPerDay: 200)).ToList();
        var now = DateTime.UtcNow;
        var today = now.Date;

        foreach (var bytes in events)
        {
            using var document = JsonDocument.Parse(bytes);
            var t = Timestamp(document.RootElement);
            Assert.InRange(t, today.AddDays(-1), now);
        }
    }

    [Fact]
    public void Server_events_carry_no_session_and_platform_server()
    {
        var serverTypes = new[] { "order_status_changed", "payment_succeeded", "payment_failed", "store_created", "subscription_charged" };

        foreach (var e in run.Events.Where(e => serverTypes.Contains(e.GetProperty("event_type").GetString())))
        {
            Assert.False(e.TryGetProperty("session_id", out _));
            Assert.Equal("server", e.GetProperty("context").GetProperty("platform").GetString());
        }
    }

    [Fact]
    public void Sessions_come_from_web_and_apps_with_documentation_ip_addresses()
    {
        var sessionEvents = run.Events.Where(e => e.TryGetProperty("session_id", out _)).ToList();
        var platforms = sessionEvents.Select(e => e.GetProperty("context").GetProperty("platform").GetString()).ToHashSet();

        Assert.Equal(["android", "ios", "web"], platforms.Order(StringComparer.Ordinal));
        Assert.All(sessionEvents, e =>
        {
            var ip = e.GetProperty("context").GetProperty("ip").GetString()!;
            Assert.True(ip.StartsWith("203.0.113.", StringComparison.Ordinal) || ip.StartsWith("198.51.100.", StringComparison.Ordinal)
                || ip.StartsWith("192.0.2.", StringComparison.Ordinal), ip);
        });
        Assert.Contains(sessionEvents, e => !e.TryGetProperty("user_id", out _));
    }

    [Fact]
    public void Every_store_pays_its_subscription_once_per_calendar_month()
    {
        var stores = run.OfType("store_created").Select(e => e.GetProperty("properties").GetProperty("store_id").GetString()!).ToList();
        var charges = run.OfType("subscription_charged")
            .Select(e => (Store: e.GetProperty("properties").GetProperty("store_id").GetString()!, Month: Timestamp(e).ToString("yyyy-MM", CultureInfo.InvariantCulture)))
            .ToList();

        Assert.InRange(stores.Count, 35, 45);
        Assert.Equal(charges.Count, charges.Distinct().Count());
        Assert.All(stores, store => Assert.Contains(charges, c => c.Store == store));
        Assert.Contains(charges, c => c.Month == "2026-03");
        Assert.Contains(charges, c => c.Month == "2026-02");
    }

    [Fact]
    public void Some_customers_order_again_in_a_later_month()
    {
        var monthsPerCustomer = run.OfType("purchase_completed")
            .GroupBy(e => e.TryGetProperty("user_id", out var id) ? id.GetString() : e.GetProperty("anonymous_id").GetString())
            .Select(g => g.Select(e => Timestamp(e).Month).Distinct().Count());

        Assert.Contains(monthsPerCustomer, months => months > 1);
    }

    [Fact]
    public void Some_leads_pay_within_seven_days()
    {
        var leads = run.OfType("lead_created").ToDictionary(
            e => e.GetProperty("properties").GetProperty("lead_id").GetString()!,
            Timestamp);
        var converted = run.OfType("payment_succeeded")
            .Where(e => e.GetProperty("properties").TryGetProperty("lead_id", out _))
            .Count(e => Timestamp(e) - leads[e.GetProperty("properties").GetProperty("lead_id").GetString()!] <= TimeSpan.FromDays(7));

        Assert.NotEmpty(leads);
        Assert.InRange(converted, 1, leads.Count - 1);
    }

    private static DateTime Timestamp(JsonElement e) =>
        DateTime.Parse(e.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}
