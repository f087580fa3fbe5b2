using Atalaya.Access;
using Atalaya.Engine.Connectors;
using Atalaya.Http;

namespace Atalaya.Connectors;

/// <summary>
/// <c>/api/kpi/query?metric=ad_spend,cpi,roas&amp;group_by=source</c>: the connector KPIs of the KPI
/// dictionary (<c>source: connector</c>), answered from the connectors' daily rows in the same shape
/// as the event KPIs, money in the reporting currency. They are global figures (an ad account has
/// no store or country), so only tokens that see everything may ask, and only the dimensions the
/// dictionary allows them (group_by source; filters source and app_id) apply.
/// </summary>
public static class MarketingQuery
{
    /// <summary>Whether the query asks for connector KPIs (then all of them must be).</summary>
    public static bool Requested(ReadContext r)
    {
        var names = r.Parameters.List("metric");
        var dictionary = r.Hub.Kpis.Dictionary;
        bool IsConnector(string id) => dictionary.TryGet(id, out var d) && d.IsConnector;
        if (names is null || !names.Any(IsConnector))
        {
            return false;
        }
        if (!names.All(IsConnector))
        {
            throw KpiParameters.Bad($"metric: {string.Join(", ", dictionary.ConnectorKpis.Select(k => k.Id))} come from the connectors' daily rows and cannot be mixed with event KPIs in one query; ask for them separately");
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
        var metrics = p.List("metric")!.Distinct().ToList();
        var definitions = metrics.Select(m => { r.Hub.Kpis.Dictionary.TryGet(m, out var d); return d!; }).ToList();
        // The dimensions every asked KPI allows, as the dictionary lists them.
        var groupable = definitions.Select(d => (IEnumerable<string>)(d.GroupBy ?? [])).Aggregate((a, b) => a.Intersect(b)).ToList();
        var filterable = definitions.Select(d => (IEnumerable<string>)(d.Filters ?? [])).Aggregate((a, b) => a.Intersect(b)).ToList();
        var groupBy = p.List("group_by") ?? [];
        if (groupBy.Any(g => !groupable.Contains(g)))
        {
            throw KpiParameters.Bad($"group_by: marketing KPIs group by {string.Join(", ", groupable)} only (the connector: meta_ads, app_store, ga4)");
        }
        foreach (var filter in KpiParameters.Filters.Where(f => p.List(f) is not null && !filterable.Contains(f)))
        {
            throw KpiParameters.Bad($"{filter}: marketing KPIs can be filtered by {string.Join(" and ", filterable)} only");
        }
        var (start, end) = p.Dates();
        var aggregate = p.Aggregate();
        var currency = r.Hub.Pipeline.Options.ReportingCurrency;
        MarketingAnswer answer;
        try
        {
            answer = MarketingKpis.Query(r.Hub.Marts, r.Hub.Kpis, r.Hub.Fx, currency, metrics, start, end, aggregate, groupBy.Count > 0, p.List("app_id"), p.List("source"));
        }
        catch (ArgumentException e)
        {
            throw KpiParameters.Bad(e.Message);
        }
        var rows = answer.Rows;
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
            w.WriteString("currency", currency);
            // Spend whose currency has no rate on or before its day: left out of the figures above.
            w.WriteStartArray("fx_missing");
            foreach (var m in answer.FxMissing)
            {
                w.WriteStartObject();
                w.WriteString("date", m.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("source", m.Source);
                w.WriteString("currency", m.Currency);
                KpiJson.Number(w, "amount", m.Amount);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("kpi_versions");
            foreach (var d in definitions)
            {
                w.WriteNumber(d.Id, d.Version);
            }
            w.WriteEndObject();
            HealthJson.Write(w, r.Hub.Health.For(metrics, r.Scope, Engine.Kpi.Query.DimensionFilter.None));
            w.WriteEndObject();
        }), Math.Min(limit, rows.Count));
    }
}
