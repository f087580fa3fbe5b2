using System.Globalization;
using System.Net;
using System.Text;

namespace Atalaya.Engine.Reports;

/// <summary>
/// Charts drawn on the server as inline SVG: no script, no font or image to fetch, the same on
/// screen and on paper. The SVG holds only the shapes and stretches to the width; titles, axis
/// labels and values are HTML text around it, so they stay readable on a 360 px phone instead of
/// shrinking with the drawing.
/// </summary>
internal static class SvgChart
{
    /// <summary>Vertical bars, one per day; the largest value and the first, middle and last day are labelled.</summary>
    public static string Columns(string title, IReadOnlyList<(DateOnly Day, double? Value)> days, Func<double?, string> format, ReportLocale locale)
    {
        const double Width = 600, Height = 150;
        var max = days.Select(d => d.Value ?? 0).DefaultIfEmpty(0).Max();
        var slot = Width / Math.Max(1, days.Count);
        var html = new StringBuilder();
        html.Append("<figure class=\"columns\"><figcaption><b>").Append(Text(title)).Append("</b><span>max ").Append(Text(format(max))).Append("</span></figcaption>");
        html.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" viewBox=\"0 0 {Width} {Height}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{Text(title)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        html.Append("<title>").Append(Text(title)).Append("</title>");
        for (var i = 0; i < days.Count; i++)
        {
            var (day, value) = days[i];
            var h = max > 0 ? (value ?? 0) / max * (Height - 2) : 0;
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{i * slot + slot * 0.15:0.##}\" y=\"{Height - 1 - h:0.##}\" width=\"{slot * 0.7:0.##}\" height=\"{h:0.##}\" fill=\"#2f6fb0\">");
            html.Append("<title>").Append(Text($"{locale.ShortDate(day)}: {format(value)}")).Append("</title></rect>");
        }
        html.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" y1=\"{Height - 0.5}\" x2=\"{Width}\" y2=\"{Height - 0.5}\" stroke=\"#8a94a3\" stroke-width=\"1\"/></svg>");
        html.Append("<div class=\"axis\">");
        foreach (var i in new[] { 0, days.Count / 2, days.Count - 1 }.Where(i => i >= 0).Distinct())
        {
            html.Append("<span>").Append(Text(locale.DayMonth(days[i].Day))).Append("</span>");
        }
        return html.Append("</div></figure>").ToString();
    }

    /// <summary>Horizontal bars, one row per group: its name, a bar scaled to the largest, its formatted value.</summary>
    public static string Bars(string title, IReadOnlyList<(string Label, double? Value)> rows, Func<double?, string> format)
    {
        var max = rows.Select(r => r.Value ?? 0).DefaultIfEmpty(0).Max();
        var html = new StringBuilder();
        html.Append("<figure class=\"bars\"><figcaption><b>").Append(Text(title)).Append("</b></figcaption>");
        foreach (var (label, value) in rows)
        {
            var width = max > 0 ? Math.Max(0, (value ?? 0) / max * 100) : 0;
            html.Append("<div class=\"bar\"><span class=\"label\">").Append(Text(label)).Append("</span>")
                .Append("<svg class=\"chart\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" aria-hidden=\"true\" xmlns=\"http://www.w3.org/2000/svg\">")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{width:0.##}\" height=\"10\" rx=\"1\" fill=\"#2f6fb0\"/></svg>")
                .Append("<span class=\"value\">").Append(Text(format(value))).Append("</span></div>");
        }
        return html.Append("</figure>").ToString();
    }

    public static string Text(string text) => WebUtility.HtmlEncode(text);
}
