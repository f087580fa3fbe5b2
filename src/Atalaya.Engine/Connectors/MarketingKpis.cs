using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Connectors;

/// <summary>A marketing KPI: answered from the connectors' rows in fact_kpi_daily, not from events.</summary>
public sealed record MarketingKpi(string Id, string Name, string Unit, string Description, string Definition, int Version);

/// <summary>One answer row: a marketing KPI for one period and, when grouped, one source (the connector).</summary>
public sealed record MarketingRow(string Period, string Metric, double? Value, string? Source);

/// <summary>
/// The marketing KPIs (ad_spend, impressions, clicks, installs, cpi, roas) over the daily rows
/// the connectors wrote, per period and optionally per source (the connector: meta_ads,
/// app_store). Sums are of the providers' daily figures; cpi is spend over the installs the
/// spending channels attribute to themselves; roas is the GMV of orders whose session came from a
/// channel (the event's context.source, e.g. facebook or instagram for meta_ads) over that
/// channel's spend. Providers report whole UTC days, so periods are UTC.
/// </summary>
public static class MarketingKpis
{
    public static readonly IReadOnlyList<MarketingKpi> All =
    [
        new("ad_spend", "Ad spend", "currency", "Money spent on ads (the ad account's currency).", "Σ spend of the ad connectors' daily rows.", 1),
        new("impressions", "Impressions", "count", "Times the ads were shown.", "Σ impressions of the ad connectors' daily rows.", 1),
        new("clicks", "Clicks", "count", "Clicks on the ads.", "Σ clicks of the ad connectors' daily rows.", 1),
        new("installs", "Installs", "count", "App installs each source reports (the App Store its downloads, Meta the installs it attributes to its ads); group by source to read them apart.", "Σ installs of the connectors' daily rows.", 1),
        new("cpi", "Cost per install", "currency", "Ad spend per install attributed to the ads.", "ad_spend / installs of the sources that spent.", 1),
        new("roas", "Return on ad spend", "ratio", "GMV of orders whose session came from an ad channel per unit of its spend.", "gmv of orders with context.source of the channel / ad_spend of the channel.", 1),
    ];

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

    public static bool IsMarketing(string id) => All.Any(k => k.Id == id);

    public static string Names => string.Join(", ", All.Select(k => k.Id));

    /// <summary>The rows for [start, end] (UTC days) cut by <paramref name="aggregate"/>; apps and sources filter when given.</summary>
    public static List<MarketingRow> Query(HubDatabase database, KpiEngine engine, IReadOnlyList<string> metrics, DateOnly start, DateOnly end,
        Aggregate aggregate, bool bySource, IReadOnlyList<string>? apps, IReadOnlyList<string>? sources)
    {
        if (aggregate == Aggregate.Hourly)
        {
            throw new ArgumentException("aggregate: marketing KPIs are daily figures; use daily, weekly, monthly or total");
        }
        var grid = PeriodGrid.Build(start, end, aggregate, TimeZoneInfo.Utc);
        // (period, source, stored metric) → sum
        var sums = new Dictionary<(int, string, string), double>();
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            var where = new List<string> { $"source_system IN ({ConnectorSources.SqlList})", "metric IN ('spend', 'impressions', 'clicks', 'installs')", "date >= $from", "date <= $to" };
            command.Parameters.AddWithValue("$from", ConnectorStore.Day(start));
            command.Parameters.AddWithValue("$to", ConnectorStore.Day(end));
            Add(command, where, "app_id", apps);
            Add(command, where, "source_system", sources);
            command.CommandText = $"SELECT date, source_system, metric, sum(value) FROM fact_kpi_daily WHERE {string.Join(" AND ", where)} GROUP BY date, source_system, metric;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var day = ConnectorStore.ParseDay(reader.GetString(0));
                var period = grid.Find(new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds());
                var key = (period, reader.GetString(1), reader.GetString(2));
                sums[key] = sums.GetValueOrDefault(key) + (reader.IsDBNull(3) ? 0 : reader.GetDouble(3));
            }
        }
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
        return rows;
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

    private static void Add(Microsoft.Data.Sqlite.SqliteCommand command, List<string> where, string column, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            return;
        }
        var names = values.Select((v, i) =>
        {
            var name = $"${column}{i.ToString(CultureInfo.InvariantCulture)}";
            command.Parameters.AddWithValue(name, v);
            return name;
        });
        where.Add($"{column} IN ({string.Join(", ", names)})");
    }
}
