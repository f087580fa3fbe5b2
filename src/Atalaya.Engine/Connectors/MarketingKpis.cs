using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Connectors;

/// <summary>One answer row: a marketing KPI for one period and, when grouped, one source (the connector).</summary>
public sealed record MarketingRow(string Period, string Metric, double? Value, string? Source);

/// <summary>A day of spend left out because the FX table has no rate for its currency on or before that day.</summary>
public sealed record MissingRate(DateOnly Day, string Source, string Currency, double Amount);

/// <summary>The rows of a marketing query and the spend it could not convert.</summary>
public sealed record MarketingAnswer(IReadOnlyList<MarketingRow> Rows, IReadOnlyList<MissingRate> FxMissing);

/// <summary>
/// The marketing KPIs (ad_spend, impressions, clicks, installs, cpi, roas) over the daily rows
/// the connectors wrote, per period and optionally per source (the connector: meta_ads,
/// app_store). Sums are of the providers' daily figures; cpi is spend over the installs the
/// spending channels attribute to themselves; roas is the GMV of orders whose session came from a
/// channel (the event's context.source, e.g. facebook or instagram for meta_ads) over that
/// channel's spend. Providers report whole UTC days, so periods are UTC. Spend is kept in the ad
/// account's currency and converted here with the hub's daily FX table, the one order money is
/// converted with at ingest (that day's rate, else the closest earlier one); a day whose rate is
/// missing is left out of the sums and reported in <see cref="MarketingAnswer.FxMissing"/>, as
/// orders without a rate are left out of GMV and flagged.
/// </summary>
public static class MarketingKpis
{
    /// <summary>The marketing KPIs this engine evaluates (<see cref="MarketingKpiIds"/>).</summary>
    public static IReadOnlyList<string> Ids => MarketingKpiIds.All;

    /// <summary>Event sources (context.source, lower case) that are the traffic of each ad connector.</summary>
    public static readonly IReadOnlyDictionary<string, string> ChannelOfSource = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["facebook"] = ConnectorSources.MetaAds,
        ["instagram"] = ConnectorSources.MetaAds,
        ["meta"] = ConnectorSources.MetaAds,
        ["fb"] = ConnectorSources.MetaAds,
        ["ig"] = ConnectorSources.MetaAds,
        ["meta_ads"] = ConnectorSources.MetaAds,
    };

    private static readonly string[] Stored = ["spend", "impressions", "clicks", "installs"];

    public static bool IsMarketing(string id) => MarketingKpiIds.Contains(id);

    public static string Names => string.Join(", ", MarketingKpiIds.All);

    /// <summary>The rows for [start, end] (UTC days) cut by <paramref name="aggregate"/>; apps and sources filter when given.</summary>
    public static MarketingAnswer Query(MartStore marts, KpiEngine engine, Collect.FxRateTable fx, string reportingCurrency, IReadOnlyList<string> metrics,
        DateOnly start, DateOnly end, Aggregate aggregate, bool bySource, IReadOnlyList<string>? apps, IReadOnlyList<string>? sources)
    {
        if (aggregate == Aggregate.Hourly)
        {
            throw new ArgumentException("aggregate: marketing KPIs are daily figures; use daily, weekly, monthly or total");
        }
        var grid = PeriodGrid.Build(start, end, aggregate, TimeZoneInfo.Utc);
        // (period, source, stored metric) → sum
        var sums = new Dictionary<(int, string, string), double>();
        var missing = new List<MissingRate>();
        marts.Run(connection =>
        {
            using var command = connection.CreateCommand();
            var where = new List<string> { $"source_system IN ({ConnectorSources.SqlList})", "metric IN ('spend', 'impressions', 'clicks', 'installs')", "date >= @from", "date <= @to" };
            PortableSql.Add(command, "@from", ConnectorStore.Day(start));
            PortableSql.Add(command, "@to", ConnectorStore.Day(end));
            Add(command, where, "app_id", apps);
            Add(command, where, "source_system", sources);
            command.CommandText = $"SELECT date, source_system, metric, coalesce(currency, ''), sum(value) FROM fact_kpi_daily WHERE {string.Join(" AND ", where)} GROUP BY date, source_system, metric, currency;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var day = ConnectorStore.ParseDay(reader.GetString(0));
                var period = grid.Find(new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds());
                var (source, metric, currency) = (reader.GetString(1), reader.GetString(2), reader.GetString(3));
                var value = reader.IsDBNull(4) ? 0 : reader.GetDouble(4);
                // Rows written before currencies were recorded, and counts, are taken as they are.
                if (currency.Length > 0 && currency != reportingCurrency)
                {
                    if (!fx.TryGet(currency, day, out var rate))
                    {
                        missing.Add(new MissingRate(day, source, currency, value));
                        continue;
                    }
                    value *= (double)rate;
                }
                var key = (period, source, metric);
                sums[key] = sums.GetValueOrDefault(key) + value;
            }
            return 0;
        });
        var gmv = metrics.Contains("roas") ? Gmv(engine, start, end, aggregate, apps) : [];
        var channels = sums.Keys.Select(k => k.Item2).Distinct().Order(StringComparer.Ordinal).ToList();
        double Sum(int p, string? source, string metric) => sums.Where(s => s.Key.Item1 == p && (source is null || s.Key.Item2 == source) && s.Key.Item3 == metric).Sum(s => s.Value);
        var spenders = new Func<int, List<string>>(p => channels.Where(c => Sum(p, c, "spend") > 0).ToList());
        var rows = new List<MarketingRow>();
        for (var p = 0; p < grid.Count; p++)
        {
            foreach (var metric in metrics)
            {
                foreach (var source in bySource ? channels.Cast<string?>() : [null])
                {
                    var spending = source is null ? spenders(p) : Sum(p, source, "spend") > 0 ? [source] : [];
                    double? value = metric switch
                    {
                        "ad_spend" => Sum(p, source, "spend"),
                        "impressions" or "clicks" or "installs" => Sum(p, source, metric),
                        "cpi" => Ratio(spending.Sum(s => Sum(p, s, "spend")), spending.Sum(s => Sum(p, s, "installs"))),
                        "roas" => Ratio(spending.Sum(s => gmv.GetValueOrDefault((p, s))), spending.Sum(s => Sum(p, s, "spend"))),
                        _ => throw new ArgumentException($"metric: '{metric}' is not a marketing KPI; they are {Names}"),
                    };
                    rows.Add(new MarketingRow(grid.Labels[p], metric, value, source));
                }
            }
        }
        return new MarketingAnswer(rows, missing);
    }

    private static double? Ratio(double numerator, double denominator) => denominator > 0 ? numerator / denominator : null;

    /// <summary>GMV per period and ad channel, from the KPI engine grouped by the orders' source.</summary>
    private static Dictionary<(int, string), double> Gmv(KpiEngine engine, DateOnly start, DateOnly end, Aggregate aggregate, IReadOnlyList<string>? apps)
    {
        var filter = apps is null ? DimensionFilter.None : new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.AppId] = apps });
        var result = engine.Query(new KpiQuery([KpiId.Gmv], start, end, aggregate, TimeZoneInfo.Utc, filter, [Dimension.Source], AccessScope.Everything, int.MaxValue));
        var grid = PeriodGrid.Build(start, end, aggregate, TimeZoneInfo.Utc);
        var byLabel = grid.Labels.Select((label, index) => (label, index)).ToDictionary(x => x.label, x => x.index, StringComparer.Ordinal);
        var gmv = new Dictionary<(int, string), double>();
        foreach (var row in result.Rows)
        {
            if (row.Value is { } value && row.Group[0] is { } source && ChannelOfSource.TryGetValue(source.ToLowerInvariant(), out var channel)
                && byLabel.TryGetValue(row.Period, out var p))
            {
                gmv[(p, channel)] = gmv.GetValueOrDefault((p, channel)) + value;
            }
        }
        return gmv;
    }

    private static void Add(System.Data.Common.DbCommand command, List<string> where, string column, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            return;
        }
        var names = values.Select((v, i) =>
        {
            var name = $"@{column}{i.ToString(CultureInfo.InvariantCulture)}";
            PortableSql.Add(command, name, v);
            return name;
        });
        where.Add($"{column} IN ({string.Join(", ", names)})");
    }
}
