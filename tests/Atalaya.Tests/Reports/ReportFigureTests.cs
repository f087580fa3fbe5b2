using System.Text;
using System.Text.RegularExpressions;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Reports;

namespace Atalaya.Tests.Reports;

/// <summary>
/// Every figure of a report equals <c>GET /api/kpi/query</c> for a token of the report's scope over
/// the same range: the daily CSV row by row (the day and the day before, per country and for ALL),
/// the HTML reports cell by cell through their data attributes. A vendor's reports name no other store.
/// </summary>
[Collection(ReportCollection.Name)]
public sealed partial class ReportFigureTests(ReportFixture fixture)
{
    public static TheoryData<string> Scopes => ["all", "store", "country"];

    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task Every_figure_of_the_daily_csv_equals_the_kpi_query_api_for_the_same_scope_and_range(string scopeKind)
    {
        var (scope, token) = ScopeAndToken(scopeKind);
        var day = ReportFixture.Yesterday;
        var report = fixture.Build(ReportKind.Daily, day, scope);
        Assert.Equal($"daily-{ReportFixture.Day(day)}{(scopeKind == "all" ? "" : scope.FileSuffix)}.csv", report.FileName);

        var (start, end) = (ReportFixture.Day(day.AddDays(-1)), ReportFixture.Day(day));
        var whole = await ApiFigures.QueryAsync(fixture.Hub, token, start, end, "daily");
        var byCountry = await ApiFigures.QueryAsync(fixture.Hub, token, start, end, "daily", "country");
        var lines = Encoding.UTF8.GetString(report.Content).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("date,scope,country,kpi,value,previous_value,change_pct,data_quality", lines[0]);
        var countries = byCountry.Keys.Select(k => k.Group!).Distinct().ToList();
        var metrics = Enum.GetValues<KpiId>().Select(KpiIds.Name).ToList();
        Assert.Equal(metrics.Count * (1 + countries.Count), lines.Length - 1);
        Assert.True(countries.Count >= 1, "the day has no country at all: the test would compare nothing");

        var compared = 0;
        var seen = new HashSet<(string, string)>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            Assert.Equal(8, f.Length);
            Assert.Equal(end, f[0]);
            Assert.Equal(scope.Label, f[1]);
            Assert.True(seen.Add((f[2], f[3])), $"{f[2]} {f[3]} appears twice");
            var (value, previous) = f[2] == "ALL"
                ? (whole[(end, f[3], null)], whole[(start, f[3], null)])
                : (byCountry.GetValueOrDefault((end, f[3], f[2])), byCountry.GetValueOrDefault((start, f[3], f[2])));
            Assert.True(value == ApiFigures.Parse(f[4]), $"{f[2]} {f[3]}: the CSV says {f[4]}, the API {value}");
            Assert.True(previous == ApiFigures.Parse(f[5]), $"{f[2]} {f[3]} the day before: the CSV says {f[5]}, the API {previous}");
            Assert.Equal(ApiFigures.Change(value, previous), ApiFigures.Parse(f[6]));
            compared += value is null ? 0 : 1;
        }
        Assert.True(compared > metrics.Count, $"only {compared} figures had a value");
        Assert.Equal(metrics.Count, seen.Count(s => s.Item1 == "ALL"));
        Assert.Contains(seen, s => s.Item1 == "ALL" && s.Item2 == "gmv");
    }

    [Theory]
    [InlineData("weekly", "store", "es-MX")]
    [InlineData("weekly", "all", "en")]
    [InlineData("monthly", "country", "sv-SE")]
    [InlineData("monthly", "all", "es-CL")]
    public async Task Every_figure_of_an_html_report_equals_the_kpi_query_api_for_its_range_and_group(string kind, string scopeKind, string locale)
    {
        var (scope, token) = ScopeAndToken(scopeKind);
        ReportKinds.TryParse(kind, out var reportKind);
        var report = fixture.Build(reportKind, reportKind == ReportKind.Monthly ? ReportFixture.LastMonth : ReportFixture.Yesterday, scope, locale);
        var html = Encoding.UTF8.GetString(report.Content);

        // Cells of a group table sit in <tr data-dimension=… data-group=…>; the cards and the KPI table are for the whole scope.
        var cells = html.Split("<tr").SelectMany(row =>
        {
            var group = Row().Match(row);
            return Cell().Matches(row).Select(c => (Cell: c, Dimension: group.Success ? group.Groups["dimension"].Value : null,
                Group: group.Success ? System.Net.WebUtility.HtmlDecode(group.Groups["group"].Value) : null));
        }).ToList();
        Assert.True(cells.Count >= 13 * 2, $"only {cells.Count} figures with data attributes");
        Assert.Contains(cells, c => c.Dimension is not null);
        var answers = new Dictionary<(string, string, string?), Dictionary<(string Period, string Metric, string? Group), double?>>();
        var checkedValues = 0;
        foreach (var (cell, dimension, group) in cells)
        {
            var key = (cell.Groups["start"].Value, cell.Groups["end"].Value, dimension);
            if (!answers.TryGetValue(key, out var api))
            {
                api = answers[key] = await ApiFigures.QueryAsync(fixture.Hub, token, key.Item1, key.Item2, "total", dimension);
            }
            var expected = api.Where(a => a.Key.Metric == cell.Groups["kpi"].Value && (dimension is null || a.Key.Group == group)).Select(a => a.Value).Single();
            Assert.True(expected == ApiFigures.Parse(cell.Groups["value"].Value),
                $"{cell.Groups["kpi"].Value} {key} {group}: the report says {cell.Groups["value"].Value}, the API {expected}");
            checkedValues += expected is null ? 0 : 1;
        }
        Assert.True(checkedValues >= 13, $"only {checkedValues} figures had a value");
        Assert.Contains($"data-scope=\"{scope.Label}\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vendor_report_names_no_other_store_and_no_country_but_its_own()
    {
        var own = fixture.Stores.Single(s => s.Id == ReportFixture.VendorStore);
        var scope = ReportScope.Store(own.Id);
        var texts = new[]
        {
            fixture.Build(ReportKind.Daily, ReportFixture.Yesterday, scope),
            fixture.Build(ReportKind.Weekly, ReportFixture.Yesterday, scope, "es-MX"),
            fixture.Build(ReportKind.Monthly, ReportFixture.LastMonth, scope, "es-MX"),
        }.Select(r => (r.FileName, Text: Encoding.UTF8.GetString(r.Content))).ToList();
        var others = fixture.Stores.Where(s => s.Id != own.Id).ToList();
        Assert.True(others.Count >= 5, "the demo data should hold several stores");
        foreach (var (file, text) in texts)
        {
            Assert.Contains(own.Id, text, StringComparison.Ordinal);
            foreach (var other in others)
            {
                Assert.False(Regex.IsMatch(text, $@"(?<![\w-]){Regex.Escape(other.Id)}(?![\w-])"), $"{file} names the store {other.Id}");
                Assert.DoesNotContain(other.Name, text, StringComparison.Ordinal);
            }
            foreach (var country in fixture.Stores.Select(s => s.Country).Distinct().Where(c => c != own.Country))
            {
                Assert.DoesNotContain($",{country},", text, StringComparison.Ordinal);
                Assert.DoesNotContain($"data-group=\"{country}\"", text, StringComparison.Ordinal);
            }
        }
        var csvCountries = texts[0].Text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(',')[2]).Distinct().Order().ToList();
        Assert.Equal(["ALL", own.Country], csvCountries);
    }

    private (ReportScope Scope, string Token) ScopeAndToken(string kind) => kind switch
    {
        "store" => (ReportScope.Store(ReportFixture.VendorStore), fixture.VendorToken),
        "country" => (ReportScope.Country("MX"), fixture.LeadToken),
        _ => (ReportScope.All, fixture.Hub.AdminToken),
    };

    [GeneratedRegex("data-kpi=\"(?<kpi>[a-z_]+)\" data-start=\"(?<start>[0-9-]+)\" data-end=\"(?<end>[0-9-]+)\" data-value=\"(?<value>[^\"]*)\"")]
    private static partial Regex Cell();

    [GeneratedRegex("^ data-dimension=\"(?<dimension>[a-z_]+)\" data-group=\"(?<group>[^\"]*)\"")]
    private static partial Regex Row();
}
