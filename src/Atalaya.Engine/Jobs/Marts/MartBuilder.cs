using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>
/// Computes mart rows for a range of UTC days with the KPI engine: the same evaluator that answers
/// <c>/api/kpi/query</c> (and its top-products analysis for product_metrics), asked for daily rows
/// grouped by the mart's key dimensions. There is no second aggregation path: a mart row equals
/// the API's answer for that day and group, exact for non-additive KPIs too.
/// </summary>
internal sealed class MartBuilder(KpiEngine engine)
{
    /// <summary>The marts, in the order a run builds them.</summary>
    public static readonly IReadOnlyList<string> Names = ["daily_metrics", "product_metrics", "customer_metrics", "traffic_metrics", "fact_kpi_daily"];

    /// <summary>The rows of <paramref name="table"/> for [<paramref name="from"/>, <paramref name="to"/>], in column order.</summary>
    public List<object?[]> Compute(MartTable table, DateOnly from, DateOnly to, DimensionFilter filter, string runId) => table.Name switch
    {
        "product_metrics" => Products(table, from, to, filter, runId),
        "fact_kpi_daily" => Facts(table, from, to, filter, runId),
        _ => Wide(table, from, to, filter, runId),
    };

    /// <summary>The key dimensions of a mart (every key column but date and metric).</summary>
    public static IReadOnlyList<Dimension> Grain(MartTable table) =>
        [.. table.Key.Where(c => c is not ("date" or "metric" or "product_id")).Select(c => Dimensions.TryParse(c, out var d) ? d
            : throw new InvalidOperationException($"{table.Name}.{c} is not a dimension"))];

    /// <summary>One row per day and group, one column per KPI (columns named by KPI id); rows with nothing but zeros are left out.</summary>
    private List<object?[]> Wide(MartTable table, DateOnly from, DateOnly to, DimensionFilter filter, string runId)
    {
        var metrics = table.Values.Where(c => c != "kpi_versions").Select(c => KpiIds.TryParse(c, out var id) ? id
            : throw new InvalidOperationException($"{table.Name}.{c} is not a KPI id")).ToList();
        var grain = Grain(table);
        var result = engine.Query(new KpiQuery(metrics, from, to, Aggregate.Daily, TimeZoneInfo.Utc, filter, grain, AccessScope.Everything, int.MaxValue));
        var versions = Versions(metrics);
        var rows = new Dictionary<string, object?[]>(StringComparer.Ordinal);
        foreach (var r in result.Rows)
        {
            var key = r.Period + "\u001f" + string.Join('\u001f', r.Group);
            if (!rows.TryGetValue(key, out var row))
            {
                row = new object?[table.Columns.Count];
                row[table.IndexOf("date")] = r.Period;
                for (var g = 0; g < grain.Count; g++)
                {
                    row[table.IndexOf(Dimensions.Name(grain[g]))] = r.Group[g] ?? "";
                }
                row[table.IndexOf("kpi_versions")] = versions;
                row[table.IndexOf("run_id")] = runId;
                rows.Add(key, row);
            }
            row[table.IndexOf(KpiIds.Name(r.Metric))] = Value(r.Metric, r.Value);
        }
        return [.. rows.Values.Where(row => metrics.Any(m => row[table.IndexOf(KpiIds.Name(m))] is not (null or 0L or 0.0)))];
    }

    /// <summary>fact_kpi_daily (seed 002): date × app_id × platform × source_system × metric, every KPI of the dictionary; undefined values (a rate over nothing) are left out.</summary>
    private List<object?[]> Facts(MartTable table, DateOnly from, DateOnly to, DimensionFilter filter, string runId)
    {
        var metrics = engine.Dictionary.Kpis.Where(k => !k.IsConnector).Select(k => KpiIds.TryParse(k.Id, out var id) ? id : throw new InvalidOperationException(k.Id)).ToList();
        var grain = Grain(table);
        var result = engine.Query(new KpiQuery(metrics, from, to, Aggregate.Daily, TimeZoneInfo.Utc, filter, grain, AccessScope.Everything, int.MaxValue));
        var rows = new List<object?[]>();
        foreach (var r in result.Rows)
        {
            if (r.Value is null)
            {
                continue;
            }
            var row = new object?[table.Columns.Count];
            row[table.IndexOf("date")] = r.Period;
            for (var g = 0; g < grain.Count; g++)
            {
                row[table.IndexOf(Dimensions.Name(grain[g]))] = r.Group[g] ?? "";
            }
            var name = KpiIds.Name(r.Metric);
            row[table.IndexOf("metric")] = name;
            row[table.IndexOf("value")] = r.Value;
            row[table.IndexOf("kpi_version")] = (long)Definition(name).Version;
            row[table.IndexOf("run_id")] = runId;
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>product_metrics (seed 001): product × selling store × day; conversion_pct = 100 × orders / views.</summary>
    private List<object?[]> Products(MartTable table, DateOnly from, DateOnly to, DimensionFilter filter, string runId)
    {
        var versions = $"dictionary={engine.Dictionary.Version}";
        var rows = new List<object?[]>();
        foreach (var (day, p) in engine.ProductsByDay(from, to, filter))
        {
            var row = new object?[table.Columns.Count];
            row[table.IndexOf("date")] = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            row[table.IndexOf("product_id")] = p.ProductId;
            row[table.IndexOf("store_id")] = p.StoreId ?? "";
            row[table.IndexOf("product_name")] = p.ProductName;
            row[table.IndexOf("views")] = p.Views;
            row[table.IndexOf("add_to_carts")] = p.AddToCarts;
            row[table.IndexOf("units")] = p.Units;
            row[table.IndexOf("revenue")] = p.Revenue;
            row[table.IndexOf("orders")] = p.Orders;
            row[table.IndexOf("conversion_pct")] = p.Views == 0 ? null : 100.0 * p.Orders / p.Views;
            row[table.IndexOf("kpi_versions")] = versions;
            row[table.IndexOf("run_id")] = runId;
            rows.Add(row);
        }
        return rows;
    }

    private KpiDefinition Definition(string id) =>
        engine.Dictionary.TryGet(id, out var definition) ? definition : throw new InvalidOperationException($"{id} is not in the KPI dictionary");

    /// <summary><c>aov=1,gmv=1,…</c>: the version of each KPI the row holds, in column order.</summary>
    private string Versions(IEnumerable<KpiId> metrics) =>
        string.Join(',', metrics.Select(m => $"{KpiIds.Name(m)}={Definition(KpiIds.Name(m)).Version}"));

    /// <summary>Counts are stored as integers (BI tools show 12, not 12.0); everything else as it is.</summary>
    private object? Value(KpiId metric, double? value) =>
        value is { } v && Definition(KpiIds.Name(metric)).Unit == "count" ? (object)(long)Math.Round(v) : value;
}
