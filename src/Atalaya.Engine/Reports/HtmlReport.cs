using System.Text;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Quality;

namespace Atalaya.Engine.Reports;

/// <summary>
/// The weekly and monthly reports as one self-contained HTML page each: styles inline, charts as
/// inline SVG, no script, and a Content-Security-Policy that forbids every fetch, so the page never
/// reaches out (mail clients and archives show it as it was sent). It prints on A4 and reflows to a
/// phone's width. Each figure carries its raw value and range in data attributes, so a test (or a
/// curious reader) can compare it with the API.
/// </summary>
internal static class HtmlReport
{
    /// <summary>The KPIs of the comparison table, in this order.</summary>
    public static readonly KpiId[] Headline =
    [
        KpiId.Gmv, KpiId.Orders, KpiId.Aov, KpiId.Revenue, KpiId.Commissions, KpiId.Visitors, KpiId.Sessions,
        KpiId.ConversionRate, KpiId.CartAbandonmentRate, KpiId.PaymentsSuccessRate, KpiId.Leads, KpiId.NewCustomers, KpiId.ActiveStores,
    ];

    /// <summary>The three figures of a summary message (Slack): GMV, orders and conversion rate.</summary>
    public static readonly KpiId[] CardMetrics = [KpiId.Gmv, KpiId.Orders, KpiId.ConversionRate];

    private static readonly KpiId[] GroupMetrics = [KpiId.Gmv, KpiId.Orders, KpiId.Sessions, KpiId.ConversionRate];

    public static byte[] Weekly(ReportFigures figures, ReportPeriod p, ReportScope scope, ReportLocale locale, KpiDictionary dictionary, DateTimeOffset generated,
        FigureHealth health, out IReadOnlyList<Comparison> cards)
    {
        var l = locale.Labels;
        var week = figures.Compare(Headline, p.Start, p.End, p.PreviousStart, p.PreviousEnd);
        var month = figures.Compare(Headline, p.LongStart, p.End, p.LongStart.AddDays(-28), p.LongStart.AddDays(-1));
        cards = week.Where(c => CardMetrics.Contains(c.Metric)).ToList();
        var html = Begin(l.WeeklyTitle, scope, locale, $"{locale.Range(p.Start, p.End)} · {l.Last28}: {locale.Range(p.LongStart, p.End)}", generated, health);
        Cards(html, cards, locale, dictionary, p.Start, p.End);
        html.Append("<section><h2>").Append(Esc(l.Kpi)).Append("</h2><div class=\"scroll\"><table><thead><tr><th>").Append(Esc(l.Kpi)).Append("</th>");
        foreach (var h in new[] { l.Last7, l.Previous7, l.Change, l.Last28, l.Previous28, l.Change })
        {
            html.Append("<th class=\"num\">").Append(Esc(h)).Append("</th>");
        }
        html.Append("</tr></thead><tbody>");
        for (var i = 0; i < week.Count; i++)
        {
            var unit = Unit(dictionary, week[i].Metric);
            html.Append("<tr><th scope=\"row\">").Append(Esc(l.Name(week[i].Metric))).Append("</th>");
            Figure(html, locale, unit, week[i].Metric, week[i].Value, p.Start, p.End);
            Figure(html, locale, unit, week[i].Metric, week[i].Previous, p.PreviousStart, p.PreviousEnd);
            ChangeCell(html, locale, week[i].ChangePct);
            Figure(html, locale, unit, month[i].Metric, month[i].Value, p.LongStart, p.End);
            Figure(html, locale, unit, month[i].Metric, month[i].Previous, p.LongStart.AddDays(-28), p.LongStart.AddDays(-1));
            ChangeCell(html, locale, month[i].ChangePct);
            html.Append("</tr>");
        }
        html.Append("</tbody></table></div></section>");
        Trends(html, figures, locale, dictionary, p.LongStart, p.End, [KpiId.Gmv, KpiId.Orders, KpiId.Sessions]);
        if (scope.Kind != ReportScopeKind.Country)
        {
            var countries = figures.Groups(GroupMetrics, Dimension.Country, p.Start, p.End, KpiId.Gmv);
            GroupTable(html, l.ByCountry, l.Country, Dimension.Country, countries, locale, dictionary, p.Start, p.End);
        }
        return End(html, l);
    }

    public static byte[] Monthly(ReportFigures figures, ReportPeriod p, ReportScope scope, ReportLocale locale, KpiDictionary dictionary, DateTimeOffset generated,
        FigureHealth health, out IReadOnlyList<Comparison> cards)
    {
        var l = locale.Labels;
        var month = figures.Compare(Headline, p.Start, p.End, p.PreviousStart, p.PreviousEnd);
        cards = month.Where(c => CardMetrics.Contains(c.Metric)).ToList();
        var html = Begin(l.MonthlyTitle, scope, locale, $"{Capital(locale.Month(p.Start), locale)} ({locale.Range(p.Start, p.End)})", generated, health);
        Cards(html, cards, locale, dictionary, p.Start, p.End);
        html.Append("<section><h2>").Append(Esc(l.Kpi)).Append("</h2><div class=\"scroll\"><table><thead><tr><th>").Append(Esc(l.Kpi)).Append("</th>");
        foreach (var h in new[] { l.ThisMonth, l.PreviousMonth, l.Change })
        {
            html.Append("<th class=\"num\">").Append(Esc(h)).Append("</th>");
        }
        html.Append("</tr></thead><tbody>");
        foreach (var c in month)
        {
            var unit = Unit(dictionary, c.Metric);
            html.Append("<tr><th scope=\"row\">").Append(Esc(l.Name(c.Metric))).Append("</th>");
            Figure(html, locale, unit, c.Metric, c.Value, p.Start, p.End);
            Figure(html, locale, unit, c.Metric, c.Previous, p.PreviousStart, p.PreviousEnd);
            ChangeCell(html, locale, c.ChangePct);
            html.Append("</tr>");
        }
        html.Append("</tbody></table></div></section>");
        Trends(html, figures, locale, dictionary, p.Start, p.End, [KpiId.Gmv, KpiId.Orders]);
        var sources = figures.Groups(GroupMetrics, Dimension.Source, p.Start, p.End, KpiId.Gmv, top: 5);
        GroupTable(html, l.TopSources, l.Source, Dimension.Source, sources, locale, dictionary, p.Start, p.End);
        if (scope.Kind != ReportScopeKind.Country)
        {
            var countries = figures.Groups(GroupMetrics, Dimension.Country, p.Start, p.End, KpiId.Gmv, top: 5);
            GroupTable(html, l.TopCountries, l.Country, Dimension.Country, countries, locale, dictionary, p.Start, p.End);
        }
        return End(html, l);
    }

    private static StringBuilder Begin(string title, ReportScope scope, ReportLocale locale, string period, DateTimeOffset generated, FigureHealth health)
    {
        var l = locale.Labels;
        var who = scope.Kind switch
        {
            ReportScopeKind.Store => $"{l.Store} {scope.Value}",
            ReportScopeKind.Country => $"{l.Country} {scope.Value}",
            _ => l.Platform,
        };
        var html = new StringBuilder(32 * 1024);
        html.Append("<!DOCTYPE html><html lang=\"").Append(locale.Language).Append("\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">")
            .Append("<title>").Append(Esc($"{title} · {who} · {period}")).Append("</title><style>").Append(Style).Append("</style></head><body><main>")
            .Append("<header><h1>").Append(Esc(title)).Append("</h1><p class=\"scope\" data-scope=\"").Append(Esc(scope.Label)).Append("\">").Append(Esc(who)).Append("</p>")
            .Append("<p class=\"meta\">").Append(Esc(l.Period)).Append(": ").Append(Esc(period)).Append(" · ").Append(Esc(l.Generated)).Append(": ")
            .Append(Esc(generated.UtcDateTime.ToString("g", locale.Culture))).Append(" UTC</p>")
            .Append("<p class=\"quality\" data-state=\"").Append(FigureHealth.Name(health.State)).Append("\">")
            .Append(Esc(ReportQuality.Line(health, locale))).Append("</p></header>");
        return html;
    }

    private static byte[] End(StringBuilder html, ReportLabels l)
    {
        html.Append("<footer>").Append(Esc(l.Footer)).Append("</footer></main></body></html>\n");
        return new UTF8Encoding(false).GetBytes(html.ToString());
    }

    private static void Cards(StringBuilder html, IReadOnlyList<Comparison> cards, ReportLocale locale, KpiDictionary dictionary, DateOnly start, DateOnly end)
    {
        html.Append("<section class=\"cards\">");
        foreach (var c in cards)
        {
            html.Append("<div class=\"card\"><div class=\"label\">").Append(Esc(locale.Labels.Name(c.Metric))).Append("</div>")
                .Append("<div class=\"value\"").Append(Data(c.Metric, c.Value, start, end)).Append('>').Append(Esc(locale.Format(c.Value, Unit(dictionary, c.Metric)))).Append("</div>")
                .Append("<div class=\"change ").Append(Trend(c.ChangePct)).Append("\">").Append(Esc(locale.Change(c.ChangePct))).Append("</div></div>");
        }
        html.Append("</section>");
    }

    private static void Trends(StringBuilder html, ReportFigures figures, ReportLocale locale, KpiDictionary dictionary, DateOnly start, DateOnly end, KpiId[] metrics)
    {
        html.Append("<section><h2>").Append(Esc(locale.Labels.DailyTrend)).Append("</h2><div class=\"charts\">");
        foreach (var m in metrics)
        {
            var unit = Unit(dictionary, m);
            html.Append(SvgChart.Columns(locale.Labels.Name(m), figures.Daily(m, start, end), v => locale.Format(v, unit), locale));
        }
        html.Append("</div></section>");
    }

    private static void GroupTable(StringBuilder html, string title, string column, Dimension dimension, IReadOnlyList<GroupFigures> groups, ReportLocale locale, KpiDictionary dictionary,
        DateOnly start, DateOnly end)
    {
        var l = locale.Labels;
        html.Append("<section><h2>").Append(Esc(title)).Append("</h2>");
        if (groups.Count == 0)
        {
            html.Append("<p class=\"empty\">").Append(Esc(l.NoData)).Append("</p></section>");
            return;
        }
        var gmvUnit = Unit(dictionary, KpiId.Gmv);
        html.Append(SvgChart.Bars(l.Name(KpiId.Gmv), groups.Select(g => (g.Group ?? "–", g.Values.GetValueOrDefault(KpiId.Gmv))).ToList(), v => locale.Format(v, gmvUnit)));
        html.Append("<div class=\"scroll\"><table><thead><tr><th>").Append(Esc(column)).Append("</th>");
        foreach (var m in GroupMetrics)
        {
            html.Append("<th class=\"num\">").Append(Esc(l.Name(m))).Append("</th>");
        }
        html.Append("</tr></thead><tbody>");
        foreach (var g in groups)
        {
            html.Append("<tr data-dimension=\"").Append(Dimensions.Name(dimension)).Append("\" data-group=\"").Append(Esc(g.Group ?? "")).Append("\"><th scope=\"row\">").Append(Esc(g.Group ?? "–")).Append("</th>");
            foreach (var m in GroupMetrics)
            {
                Figure(html, locale, Unit(dictionary, m), m, g.Values.GetValueOrDefault(m), start, end);
            }
            html.Append("</tr>");
        }
        html.Append("</tbody></table></div></section>");
    }

    private static void Figure(StringBuilder html, ReportLocale locale, string unit, KpiId metric, double? value, DateOnly start, DateOnly end) =>
        html.Append("<td class=\"num\"").Append(Data(metric, value, start, end)).Append('>').Append(Esc(locale.Format(value, unit))).Append("</td>");

    private static void ChangeCell(StringBuilder html, ReportLocale locale, double? change) =>
        html.Append("<td class=\"num change ").Append(Trend(change)).Append("\">").Append(Esc(locale.Change(change))).Append("</td>");

    /// <summary>The raw figure and its range, for comparison with <c>GET /api/kpi/query?aggregate=total</c>.</summary>
    private static string Data(KpiId metric, double? value, DateOnly start, DateOnly end) =>
        $" data-kpi=\"{KpiIds.Name(metric)}\" data-start=\"{ReportFigures.Day(start)}\" data-end=\"{ReportFigures.Day(end)}\" data-value=\"{DailyCsv.Number(value)}\"";

    private static string Trend(double? change) => change switch { > 0 => "up", < 0 => "down", _ => "flat" };

    private static string Unit(KpiDictionary dictionary, KpiId metric) =>
        dictionary.TryGet(KpiIds.Name(metric), out var d) ? d.Unit : "count";

    private static string Capital(string text, ReportLocale locale) =>
        text.Length == 0 ? text : char.ToUpper(text[0], locale.Culture) + text[1..];

    private static string Esc(string text) => SvgChart.Text(text);

    private const string Style = """
        *{box-sizing:border-box}
        body{margin:0;background:#f4f6f8;color:#1f2a37;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
        main{max-width:960px;margin:0 auto;padding:20px 16px;background:#fff}
        header h1{margin:0 0 4px;font-size:24px}
        .scope{margin:0;font-size:17px;font-weight:600;color:#2f6fb0}
        .meta{margin:4px 0 0;color:#5b6675;font-size:13px}
        .quality{margin:4px 0 0;font-size:13px;color:#1d6b3a}
        .quality[data-state=stale],.quality[data-state=unchecked]{color:#8a5a00}
        .quality[data-state=failing]{color:#b3261e;font-weight:600}
        h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-top:18px}
        .card{border:1px solid #dde3ea;border-radius:8px;padding:10px 12px}
        .card .label{color:#5b6675;font-size:13px}
        .card .value{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums}
        .change.up{color:#17803d}.change.down{color:#b42318}.change.flat{color:#5b6675}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:14px}
        th,td{padding:6px 8px;border-bottom:1px solid #e8edf2;text-align:left;white-space:nowrap}
        thead th{background:#f4f6f8;font-weight:600}
        .num{text-align:right;font-variant-numeric:tabular-nums}
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:8px 24px}
        figure{margin:8px 0}
        figcaption{display:flex;justify-content:space-between;gap:8px;font-size:14px;margin-bottom:4px}
        figcaption span,.axis{color:#5b6675;font-size:12px}
        .columns svg.chart{width:100%;height:120px;display:block}
        .axis{display:flex;justify-content:space-between;white-space:nowrap}
        .bar{display:grid;grid-template-columns:minmax(60px,150px) 1fr auto;align-items:center;gap:10px;font-size:14px;margin:4px 0}
        .bar .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        .bar svg.chart{width:100%;height:16px;display:block}
        .bar .value{font-variant-numeric:tabular-nums;text-align:right}
        .empty{color:#5b6675}
        footer{margin-top:28px;color:#5b6675;font-size:12px}
        @media (max-width:600px){body{font-size:14px}main{padding:14px 10px}header h1{font-size:20px}.card .value{font-size:19px}th,td{padding:5px 6px}}
        @page{size:A4;margin:14mm 12mm}
        @media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}section,figure,tr,.card{break-inside:avoid}.scroll{overflow:visible}h2{break-after:avoid}}
        """;
}
