using System.Text.Json;
using Atalaya.Engine.Reports;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Reports;

/// <summary>
/// <c>atalaya report</c> as a user runs it, against the data folder of a running hub: the file it
/// writes is the one the jobs build, without <c>--out</c> it is kept and listed by the API, and
/// mistakes end with exit code 2 and a message saying how to fix them.
/// </summary>
[Collection(ReportCollection.Name)]
public sealed class ReportCliTests(ReportFixture fixture)
{
    private string Data => fixture.Hub.Server.DataDirectory;

    [Fact]
    public async Task A_vendor_daily_report_written_to_a_folder_is_the_file_the_jobs_build()
    {
        var output = Directory.CreateTempSubdirectory("atalaya-report-cli-");
        var day = ReportFixture.Yesterday;

        var run = await AtalayaProcess.RunAsync("report", "daily", "--store", ReportFixture.VendorStore, "--date", ReportFixture.Day(day),
            "--out", output.FullName, "--data", Data);

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        var path = Path.Combine(output.FullName, $"daily-{ReportFixture.Day(day)}-store-{ReportFixture.VendorStore}.csv");
        Assert.Equal(path, run.Stdout.Trim().Split('\n')[^1]);
        Assert.Equal(fixture.Build(ReportKind.Daily, day, ReportScope.Store(ReportFixture.VendorStore)).Content, await File.ReadAllBytesAsync(path));
        output.Delete(recursive: true);
    }

    [Fact]
    public async Task A_report_made_without_out_is_kept_in_the_data_folder_and_listed_for_its_readers()
    {
        var run = await AtalayaProcess.RunAsync("report", "weekly", "--country", "MX", "--locale", "es-MX", "--data", Data);

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        var id = $"weekly-{ReportFixture.Day(ReportFixture.Yesterday)}-country-MX-es-MX";
        Assert.EndsWith(Path.Combine("reports", id + ".html"), run.Stdout.Trim().Split('\n')[^1], StringComparison.Ordinal);
        var (status, body) = await fixture.Hub.Api.GetAsync("/api/reports?kind=weekly", fixture.LeadToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        Assert.Contains(JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray(), r => r.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task A_weekly_report_prints_to_an_a4_pdf_with_chromium()
    {
        var output = Directory.CreateTempSubdirectory("atalaya-report-pdf-");

        var run = await AtalayaProcess.RunAsync("report", "weekly", "--locale", "es-CL", "--pdf", "--out", output.FullName, "--data", Data);

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        var pdf = Path.Combine(output.FullName, $"weekly-{ReportFixture.Day(ReportFixture.Yesterday)}-es-CL.pdf");
        Assert.Contains(pdf, run.Stdout, StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(pdf);
        Assert.Equal("%PDF"u8.ToArray(), bytes[..4]);
        // A4 is 595 × 842 points (Chromium writes 594.96 × 841.92).
        Assert.Matches(@"/MediaBox\s*\[\s*0\s+0\s+59[45](\.\d+)?\s+84[12](\.\d+)?\s*\]", System.Text.Encoding.Latin1.GetString(bytes));
        output.Delete(recursive: true);
    }

    [Theory]
    [InlineData("unknown store 'zz-999'", "daily", "--store", "zz-999")]
    [InlineData("unknown country 'XX'", "daily", "--country", "XX")]
    [InlineData("is in the future", "daily", "--date", "2999-01-01")]
    [InlineData("--date: '01/02/2026' is not a date; use YYYY-MM-DD", "weekly", "--date", "01/02/2026")]
    [InlineData("give --store (a vendor's report) or --country (a country's report), not both", "monthly", "--store", "mx-003", "--country", "MX")]
    [InlineData("'yearly' is not a report; give daily, weekly or monthly", "yearly")]
    [InlineData("--locale: 'fr-FR' is not one of es-MX, es-CO, es-CL, sv-SE, en", "weekly", "--locale", "fr-FR")]
    [InlineData("--pdf: the daily report is a CSV", "daily", "--pdf")]
    public async Task A_mistake_exits_with_2_and_says_how_to_fix_it(string message, params string[] args)
    {
        var run = await AtalayaProcess.RunAsync(["report", .. args, "--data", Data]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_names_every_option_and_a_missing_data_folder_is_a_clear_error()
    {
        var help = await AtalayaProcess.RunAsync("report", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var option in new[] { "daily", "weekly", "monthly", "--date", "--store", "--country", "--out", "--locale", "--pdf", "--data" })
        {
            Assert.Contains(option, help.Stdout, StringComparison.Ordinal);
        }
        var missing = Path.Combine(Path.GetTempPath(), "atalaya-none-" + Guid.NewGuid().ToString("N"));
        var run = await AtalayaProcess.RunAsync("report", "daily", "--data", missing);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("no hub data in", run.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }
}
