using System.Globalization;
using System.Net;
using System.Text;

namespace Atalaya.Engine.Reports;

/// <summary>
/// Charts drawn on the server as inline SVG: no script, no font or image to fetch, the same on
/// screen, on a phone (they scale to the width through their viewBox) and on paper.
/// </summary>
internal static class SvgChart
{
    private const string Bar = "#2f6fb0";
    private const string Axis = "#8a94a3";
    private const string Ink = "#1f2a37";

    /// <summary>Vertical bars, one per day, with the largest value and the first, middle and last day labelled.</summary>
    public static string Columns(string title, IReadOnlyList<(DateOnly Day, double? Value)> days, Func<double?, string> format, ReportLocale locale)
    {
        const int Width = 640, Height = 180, Left = 8, Right = 8, Top = 28, Bottom = 30;
        var max = days.Select(d => d.Value ?? 0).DefaultIfEmpty(0).Max();
        var scale = max > 0 ? (Height - Top - Bottom) / max : 0;
        var slot = (double)(Width - Left - Right) / Math.Max(1, days.Count);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Text(title)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append("<title>").Append(Text(title)).Append("</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"16\" font-size=\"13\" font-weight=\"600\" fill=\"{Ink}\">{Text(title)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right}\" y=\"16\" font-size=\"12\" text-anchor=\"end\" fill=\"{Axis}\">max {Text(format(max))}</text>");
        var baseline = Height - Bottom;
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{baseline}\" x2=\"{Width - Right}\" y2=\"{baseline}\" stroke=\"{Axis}\" stroke-width=\"1\"/>");
        for (var i = 0; i < days.Count; i++)
        {
            var (day, value) = days[i];
            var h = (value ?? 0) * scale;
            var x = Left + i * slot + slot * 0.15;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.##}\" y=\"{baseline - h:0.##}\" width=\"{slot * 0.7:0.##}\" height=\"{h:0.##}\" fill=\"{Bar}\">");
            svg.Append("<title>").Append(Text($"{locale.ShortDate(day)}: {format(value)}")).Append("</title></rect>");
        }
        foreach (var i in new[] { 0, days.Count / 2, days.Count - 1 }.Where(i => i >= 0).Distinct())
        {
            var x = Left + i * slot + slot / 2;
            var anchor = i == 0 ? "start" : i == days.Count - 1 ? "end" : "middle";
            var labelX = i == 0 ? Left : i == days.Count - 1 ? Width - Right : x;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelX:0.##}\" y=\"{Height - 10}\" font-size=\"12\" text-anchor=\"{anchor}\" fill=\"{Axis}\">{Text(locale.DayMonth(days[i].Day))}</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Horizontal bars, one per group, labelled with the group and its formatted value.</summary>
    public static string Bars(string title, IReadOnlyList<(string Label, double? Value)> rows, Func<double?, string> format)
    {
        const int Width = 640, Row = 30, Top = 28, LabelWidth = 170, ValueWidth = 130;
        var height = Top + Math.Max(1, rows.Count) * Row + 6;
        var max = rows.Select(r => r.Value ?? 0).DefaultIfEmpty(0).Max();
        var room = Width - LabelWidth - ValueWidth;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-label=\"{Text(title)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append("<title>").Append(Text(title)).Append("</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"600\" fill=\"{Ink}\">{Text(title)}</text>");
        for (var i = 0; i < rows.Count; i++)
        {
            var (label, value) = rows[i];
            var y = Top + i * Row;
            var w = max > 0 ? (value ?? 0) / max * room : 0;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{y + 19}\" font-size=\"13\" fill=\"{Ink}\">{Text(Clip(label, 22))}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{LabelWidth}\" y=\"{y + 5}\" width=\"{w:0.##}\" height=\"{Row - 10}\" rx=\"3\" fill=\"{Bar}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width}\" y=\"{y + 19}\" font-size=\"13\" text-anchor=\"end\" fill=\"{Ink}\">{Text(format(value))}</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    public static string Text(string text) => WebUtility.HtmlEncode(text);
}
