using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Jobs;

/// <summary>
/// Checks every mart row against the plain reference computation (the LINQ oracle the metrics API
/// is tested against): for each day and key, every KPI column equals the reference's daily figure
/// for that group, and a row exists exactly where the reference has something other than zero.
/// </summary>
public static class MartReference
{
    public static void AssertAllMarts(HubDatabase database, ReferenceData reference, DateOnly from, DateOnly to) =>
        AssertAllMarts(MartStore.Sqlite(database), reference, from, to);

    public static void AssertAllMarts(MartStore database, ReferenceData reference, DateOnly from, DateOnly to)
    {
        foreach (var mart in new[] { "daily_metrics", "customer_metrics", "traffic_metrics" })
        {
            AssertWide(database, reference, mart, from, to);
        }
        AssertFacts(database, reference, from, to);
        AssertProducts(database, reference, from, to);
    }

    private static Dictionary<string, object?[]> Rows(MartStore database, MartTable table, DateOnly from, DateOnly to) => database.Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {string.Join(", ", table.Columns)} FROM {table.Name} WHERE date >= '{from:yyyy-MM-dd}' AND date <= '{to:yyyy-MM-dd}';";
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, object?[]>(StringComparer.Ordinal);
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }
            rows.Add(string.Join('|', table.Key.Select(k => row[table.IndexOf(k)])), row);
        }
        return rows;
    });

    private static MartTable Table(MartStore database, string name) => database.Run(connection => database.Table(connection, name));

    public static void AssertWide(MartStore database, ReferenceData reference, string mart, DateOnly from, DateOnly to)
    {
        var table = Table(database, mart);
        var metrics = table.Values.Where(c => c != "kpi_versions").ToList();
        var grain = table.Key.Skip(1).ToList();
        var expected = KpiReference.Query(reference, new KpiQuery(from, to, "daily", "UTC") { Metrics = metrics, GroupBy = grain })
            .GroupBy(r => r.Period + "|" + string.Join('|', r.Group.Values.Select(v => v ?? "")), StringComparer.Ordinal)
            .Where(g => g.Any(r => r.Value is not (null or 0)))
            .ToDictionary(g => g.Key, g => g.ToDictionary(r => r.Metric, r => r.Value), StringComparer.Ordinal);
        var actual = Rows(database, table, from, to);
        Assert.True(expected.Count > 0, $"{mart}: the reference has no rows; the test data is too thin");
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, values) in expected)
        {
            foreach (var metric in metrics)
            {
                Same($"{mart} {key} {metric}", values.GetValueOrDefault(metric), actual[key][table.IndexOf(metric)]);
            }
        }
    }

    public static void AssertFacts(MartStore database, ReferenceData reference, DateOnly from, DateOnly to)
    {
        var table = Table(database, "fact_kpi_daily");
        var expected = KpiReference.Query(reference, new KpiQuery(from, to, "daily", "UTC") { GroupBy = ["app_id", "platform", "source_system"] })
            .Where(r => r.Value is not null)
            .ToDictionary(r => r.Period + "|" + string.Join('|', r.Group.Values.Select(v => v ?? "")) + "|" + r.Metric, r => r.Value, StringComparer.Ordinal);
        var actual = Rows(database, table, from, to);
        Assert.True(expected.Count > 0);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in expected)
        {
            Same("fact_kpi_daily " + key, value, actual[key][table.IndexOf("value")]);
        }
    }

    public static void AssertProducts(MartStore database, ReferenceData reference, DateOnly from, DateOnly to)
    {
        var table = Table(database, "product_metrics");
        var actual = Rows(database, table, from, to);
        var expectedKeys = new List<string>();
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var rows = TopProductsReference.Compute(reference, "revenue", int.MaxValue, start, start.AddDays(1), DimensionFilters.None);
            var carts = reference.Events.Where(e => e.Type == "add_to_cart" && e.Timestamp >= start && e.Timestamp < start.AddDays(1) && e.Text("product_id") is not null)
                .GroupBy(e => (Product: e.Text("product_id")!, Store: e.Dimensions.StoreId ?? ""))
                .ToDictionary(g => g.Key, g => g.Count());
            var keys = rows.Select(r => (Product: r.ProductId, Store: r.StoreId ?? "")).Union(carts.Keys).Distinct();
            foreach (var (product, store) in keys)
            {
                var key = $"{day:yyyy-MM-dd}|{product}|{store}";
                expectedKeys.Add(key);
                Assert.True(actual.TryGetValue(key, out var row), $"product_metrics lacks {key}");
                var r = rows.FirstOrDefault(x => x.ProductId == product && (x.StoreId ?? "") == store);
                Same(key + " revenue", r?.Revenue ?? 0, row[table.IndexOf("revenue")]);
                Same(key + " units", r?.Units ?? 0, row[table.IndexOf("units")]);
                Same(key + " orders", r?.Orders ?? 0, row[table.IndexOf("orders")]);
                Same(key + " views", r?.Views ?? 0, row[table.IndexOf("views")]);
                Same(key + " add_to_carts", carts.GetValueOrDefault((product, store)), row[table.IndexOf("add_to_carts")]);
                Same(key + " conversion_pct", r is { Views: > 0 } ? 100.0 * r.Orders / r.Views : null, row[table.IndexOf("conversion_pct")]);
            }
        }
        Assert.True(expectedKeys.Count > 0);
        Assert.Equal(expectedKeys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
    }

    private static void Same(string what, double? expected, object? actual)
    {
        if (expected is null)
        {
            Assert.True(actual is null, $"{what}: expected no value, the mart has {actual}");
            return;
        }
        var value = Convert.ToDouble(actual ?? double.NaN, CultureInfo.InvariantCulture);
        var tolerance = Math.Max(1e-9, Math.Abs(expected.Value) * 1e-6);
        Assert.True(Math.Abs(value - expected.Value) <= tolerance, $"{what}: expected {expected.Value:R}, the mart has {value:R}");
    }
}
