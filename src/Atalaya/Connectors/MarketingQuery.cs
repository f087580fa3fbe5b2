using Atalaya.Access;
using Atalaya.Collect;
using Atalaya.Engine.Connectors;
using Atalaya.Kpi;

namespace Atalaya.Connectors;

/// <summary>
/// <c>/api/kpi/query?metric=ad_spend,cpi,roas&amp;group_by=source</c>: the marketing KPIs, answered
/// from the connectors' daily rows in the same shape as the event KPIs. They are global figures
/// (an ad account has no store or country), so only tokens that see everything may ask, and only
/// the source and app_id dimensions apply.
/// </summary>
public static class MarketingQuery
{
    private static readonly HashSet<string> AllowedFilters = new(StringComparer.Ordinal) { "source", "app_id" };

    /// <summary>Whether the query asks for marketing KPIs (then all of them must be).</summary>
    public static bool Requested(ReadContext r)
    {
        var names = r.Parameters.List("metric");
        if (names is null || !names.Any(MarketingKpis.IsMarketing))
        {
            return false;
        }
        if (!names.All(MarketingKpis.IsMarketing))
        {
            throw KpiParameters.Bad($"metric: {MarketingKpis.Names} come from the connectors' daily rows and cannot be mixed with event KPIs in one query; ask for them separately");
        }
        return true;
    }

    public static ReadAnswer Answer(ReadContext r)
    {
        var p = r.Parameters;
        if (!r.Scope.IsEverything)
        {
            throw new BodyException(StatusCodes.Status403Forbidden, "marketing KPIs are figures of whole ad accounts, outside a country or store scope; ask with an admin or analyst token");
        }
        if (p.TimeZoneName != "UTC")
        {
            throw KpiParameters.Bad("tz: marketing KPIs are the providers' whole UTC days; leave tz out");
        }
        var groupBy = p.List("group_by") ?? [];
        if (groupBy.Any(g => g != "source"))
        {
            throw KpiParameters.Bad("group_by: marketing KPIs group by source only (the connector: meta_ads, app_store, ga4)");
        }
        foreach (var filter in KpiParameters.Filters.Where(f => p.List(f) is not null && !AllowedFilters.Contains(f)))
        {
            throw KpiParameters.Bad($"{filter}: marketing KPIs can be filtered by source and app_id only");
        }
        var metrics = p.List("metric")!.Distinct().ToList();
        var (start, end) = p.Dates();
        var aggregate = p.Aggregate();
        List<MarketingRow> rows;
        try
        {
            rows = MarketingKpis.Query(r.Hub.Database, r.Hub.Kpis, metrics, start, end, aggregate, groupBy.Count > 0, p.List("app_id"), p.List("source"));
        }
        catch (ArgumentException e)
        {
            throw KpiParameters.Bad(e.Message);
        }
        var limit = p.Int("limit", 1, 100_000, 1000);
        return new ReadAnswer(KpiJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var row in rows.Take(limit))
            {
                w.WriteStartObject();
                w.WriteString("period", row.Period);
                w.WriteString("metric", row.Metric);
                KpiJson.Number(w, "value", row.Value);
                if (groupBy.Count > 0)
                {
                    w.WriteString("source", row.Source);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("count", Math.Min(limit, rows.Count));
            w.WriteNumber("total", rows.Count);
            w.WriteBoolean("truncated", rows.Count > limit);
            w.WriteString("start_date", start.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("end_date", end.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("tz", "UTC");
            w.WriteStartObject("kpi_versions");
            foreach (var metric in metrics)
            {
                w.WriteNumber(metric, MarketingKpis.All.First(k => k.Id == metric).Version);
            }
            w.WriteEndObject();
            Quality.HealthJson.Write(w, r.Hub.Health.For(metrics, r.Scope, Engine.Kpi.Query.DimensionFilter.None));
            w.WriteEndObject();
        }), Math.Min(limit, rows.Count));
    }
}
