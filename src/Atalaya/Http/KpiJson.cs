using System.Text.Json;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Analysis;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;

namespace Atalaya.Http;

/// <summary>
/// Writes the metrics API's answers (docs/metrics-api.md) straight to UTF-8 JSON: rows carry one key per
/// group_by dimension, which a fixed record type cannot express, and writing directly avoids an
/// intermediate object per row.
/// </summary>
public static class KpiJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            body(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static string Text(Action<Utf8JsonWriter> body) => System.Text.Encoding.UTF8.GetString(Write(body));

    public static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, Clean(v));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>The value as every answer writes it (<see cref="KpiValues.Clean"/>).</summary>
    public static double Clean(double value) => KpiValues.Clean(value);

    public static void QueryResult(Utf8JsonWriter w, KpiResult result, KpiQuery query, KpiDictionary dictionary, string tzName, FigureHealth? health = null)
    {
        w.WriteStartObject();
        w.WriteStartArray("data");
        foreach (var row in result.Rows)
        {
            w.WriteStartObject();
            w.WriteString("period", row.Period);
            w.WriteString("metric", KpiIds.Name(row.Metric));
            Number(w, "value", row.Value);
            for (var k = 0; k < query.GroupBy.Count; k++)
            {
                w.WriteString(Dimensions.Name(query.GroupBy[k]), row.Group[k]);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WritePropertyName("params");
        Params(w, query, tzName);
        w.WriteNumber("count", result.Rows.Count);
        w.WriteNumber("total", result.Total);
        w.WriteBoolean("truncated", result.Rows.Count < result.Total);
        w.WriteString("start_date", PeriodGrid.Instant(result.Start.ToUnixTimeMilliseconds(), query.TimeZone));
        w.WriteString("end_date", PeriodGrid.Instant(result.End.ToUnixTimeMilliseconds(), query.TimeZone));
        Versions(w, query.Metrics, dictionary);
        if (health is not null)
        {
            HealthJson.Write(w, health);
        }
        w.WriteEndObject();
    }

    public static void Versions(Utf8JsonWriter w, IEnumerable<KpiId> metrics, KpiDictionary dictionary)
    {
        w.WriteStartObject("kpi_versions");
        foreach (var metric in metrics.Distinct().Order())
        {
            var name = KpiIds.Name(metric);
            w.WriteNumber(name, dictionary.TryGet(name, out var d) ? d.Version : 0);
        }
        w.WriteEndObject();
    }

    private static void Params(Utf8JsonWriter w, KpiQuery q, string tzName)
    {
        w.WriteStartObject();
        w.WriteStartArray("metric");
        foreach (var m in q.Metrics.Distinct().Order())
        {
            w.WriteStringValue(KpiIds.Name(m));
        }
        w.WriteEndArray();
        w.WriteString("start_date", q.StartDate.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("end_date", q.EndDate.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("aggregate", q.Aggregate.ToString().ToLowerInvariant());
        w.WriteStartArray("group_by");
        foreach (var d in q.GroupBy)
        {
            w.WriteStringValue(Dimensions.Name(d));
        }
        w.WriteEndArray();
        Filters(w, q.Filters);
        w.WriteString("tz", tzName);
        w.WriteNumber("limit", q.Limit);
        w.WriteEndObject();
    }

    public static void Filters(Utf8JsonWriter w, DimensionFilter filter)
    {
        w.WriteStartObject("filters");
        foreach (var (dimension, values) in filter.Values.OrderBy(f => f.Key))
        {
            w.WriteStartArray(Dimensions.Name(dimension));
            foreach (var v in values)
            {
                w.WriteStringValue(v);
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    public static void Summary(Utf8JsonWriter w, IReadOnlyList<SummaryRow> rows, DateTimeOffset asOf, string tzName, DimensionFilter filter, string? until = null, FigureHealth? health = null)
    {
        w.WriteStartObject();
        w.WriteStartArray("data");
        foreach (var r in rows)
        {
            w.WriteStartObject();
            w.WriteString("metric", KpiIds.Name(r.Metric));
            Number(w, "today", r.Today);
            Number(w, "yesterday", r.Yesterday);
            Number(w, "avg_7d", r.Avg7d);
            Number(w, "change_vs_yesterday_pct", r.ChangeVsYesterdayPct);
            Number(w, "change_vs_avg_7d_pct", r.ChangeVsAvg7dPct);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("as_of", asOf.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("tz", tzName);
        // Only with compare=same_time: the local time of day every day of the comparison stops at.
        if (until is not null)
        {
            w.WriteString("compare", "same_time");
            w.WriteString("until", until);
        }
        Filters(w, filter);
        if (health is not null)
        {
            HealthJson.Write(w, health);
        }
        w.WriteEndObject();
    }

    public static void Funnel(Utf8JsonWriter w, IReadOnlyList<FunnelStep> steps)
    {
        w.WriteStartObject();
        w.WriteStartArray("steps");
        foreach (var s in steps)
        {
            w.WriteStartObject();
            w.WriteString("step", s.Step);
            w.WriteNumber("users", s.Users);
            Number(w, "conversion_from_previous", s.ConversionFromPrevious);
            Number(w, "conversion_from_first", s.ConversionFromFirst);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void Retention(Utf8JsonWriter w, IReadOnlyList<RetentionCell> cells)
    {
        w.WriteStartObject();
        w.WriteStartArray("data");
        foreach (var c in cells)
        {
            w.WriteStartObject();
            w.WriteString("cohort", c.Cohort);
            w.WriteNumber("periods_since_first", c.PeriodsSinceFirst);
            w.WriteNumber("users", c.Users);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void TopProducts(Utf8JsonWriter w, IReadOnlyList<ProductFigures> products)
    {
        w.WriteStartObject();
        w.WriteStartArray("data");
        foreach (var p in products)
        {
            w.WriteStartObject();
            w.WriteString("product_id", p.ProductId);
            w.WriteString("product_name", p.ProductName);
            w.WriteString("store_id", p.StoreId);
            Number(w, "revenue", p.Revenue);
            w.WriteNumber("units", p.Units);
            w.WriteNumber("orders", p.Orders);
            w.WriteNumber("views", p.Views);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>The normalized parameters of an analysis call, closing its answer object.</summary>
    public static void AnalysisParams(Utf8JsonWriter w, IReadOnlyDictionary<string, object> values, DimensionFilter filter)
    {
        w.WriteStartObject("params");
        foreach (var (name, value) in values)
        {
            // Echoed with their JSON types: numbers as numbers, lists as arrays.
            switch (value)
            {
                case int number:
                    w.WriteNumber(name, number);
                    break;
                case IEnumerable<string> list when value is not string:
                    w.WriteStartArray(name);
                    foreach (var item in list)
                    {
                        w.WriteStringValue(item);
                    }
                    w.WriteEndArray();
                    break;
                default:
                    w.WriteString(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }
        Filters(w, filter);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
