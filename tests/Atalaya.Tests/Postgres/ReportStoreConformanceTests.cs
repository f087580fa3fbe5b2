using System.Security.Cryptography;
using Atalaya.Engine.Reports;
using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The stored reports, asserted the same way on both places they can live: the data folder (files
/// under reports/ and SQLite rows) and a cluster's PostgreSQL (rows and content). Two stores on one
/// backing play the node whose job built a report and another node reading it.
/// </summary>
public sealed class ReportStoreConformanceTests(PostgresServer server) : BackendConformance(server, "atalaya-reportstore")
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 6, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_saved_report_is_listed_and_read_by_another_store_with_its_content_and_a_rerun_replaces_it(string backend)
    {
        var builder = Store(backend);
        var report = Report(ReportKind.Weekly, new DateOnly(2026, 11, 19), ReportScope.Country("MX"), "es-MX", "<html>first</html>");
        var saved = builder.Save(report, Now, "run_1");

        var reader = Store(backend);
        Assert.Equal(saved, Assert.Single(reader.List()));
        Assert.Equal(saved, reader.Get(report.Id));
        Assert.Equal(report.Content, reader.Content(saved));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(report.Content)), saved.Sha256);
        Assert.Equal((report.Content.LongLength, "text/html; charset=utf-8", "run_1", Now), (saved.Bytes, saved.ContentType, saved.RunId, saved.CreatedAt));
        Assert.Null(reader.Get("weekly-1999-01-01"));

        // The same period, scope and language built again (a rerun, another node's run): one report, the new content.
        var rerun = report with { Content = "<html>second, longer</html>"u8.ToArray() };
        var replaced = Store(backend).Save(rerun, Now.AddHours(1), null);
        Assert.Equal(replaced, Assert.Single(reader.List()));
        Assert.Equal(rerun.Content, reader.Content(replaced));
        Assert.Equal((rerun.Content.LongLength, (string?)null, Now.AddHours(1)), (replaced.Bytes, replaced.RunId, replaced.CreatedAt));
        Assert.NotEqual(saved.Sha256, replaced.Sha256);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Reports_list_newest_period_first_filter_by_kind_and_expire_by_period_end_with_their_content(string backend)
    {
        var store = Store(backend);
        var reports = new List<ReportFile>();
        var scopes = new[] { ReportScope.All, ReportScope.Store("mx-003"), ReportScope.Country("SE") };
        for (var i = 0; i < 12; i++)
        {
            var kind = ReportKinds.All[i % 3];
            // 11 days apart: the four monthly ones fall in four months (one report per month and scope).
            var day = new DateOnly(2026, 9, 1).AddDays(i * 11);
            reports.Add(Report(kind, day, scopes[i % scopes.Length], kind == ReportKind.Daily ? "en" : "sv-SE", $"report {i}"));
        }
        foreach (var r in reports)
        {
            store.Save(r, Now, null);
        }
        // The reference: newest period end first, then kind name, then id, byte by byte.
        IEnumerable<string> Expected(IEnumerable<ReportFile> files) => files
            .OrderByDescending(r => r.Period.End).ThenBy(r => ReportKinds.Name(r.Kind), StringComparer.Ordinal).ThenBy(r => r.Id, StringComparer.Ordinal)
            .Select(r => r.Id);

        var reader = Store(backend);
        Assert.Equal(Expected(reports), reader.List().Select(r => r.Id));
        foreach (var kind in ReportKinds.All)
        {
            Assert.Equal(Expected(reports.Where(r => r.Kind == kind)), reader.List(kind).Select(r => r.Id));
        }

        var today = new DateOnly(2026, 11, 20);
        const int Days = 40;
        var old = reports.Where(r => r.Period.End < today.AddDays(-Days)).ToList();
        Assert.InRange(old.Count, 1, reports.Count - 1);
        Assert.Equal(old.Count, store.Expire(today, Days));
        Assert.Equal(Expected(reports.Except(old)), reader.List().Select(r => r.Id));
        Assert.All(old, r => Assert.Null(reader.Get(r.Id)));
        Assert.All(reports.Except(old), r => Assert.Equal(r.Content, reader.Content(reader.Get(r.Id)!)));
        if (backend == "sqlite")
        {
            Assert.All(old, r => Assert.False(File.Exists(ReportStore.FileIn(new HubDatabase(Folder.Path), r.FileName))));
        }
        else
        {
            // The files went with their rows: nothing is left behind in report_files.
            Assert.Equal(reports.Count - old.Count, (long)(await PostgresServer.ColumnAsync(Postgres, "SELECT count(*) FROM report_files")).Single()!);
        }
        Assert.Equal(0, store.Expire(today, Days));
    }

    private ReportStore Store(string backend)
    {
        if (backend == "sqlite")
        {
            return new ReportStore(HubDatabase.Open(Folder.Path));
        }
        var state = OpenState();
        return ReportStore.Shared(state);
    }

    private static ReportFile Report(ReportKind kind, DateOnly date, ReportScope scope, string locale, string text)
    {
        var period = ReportPeriod.For(kind, date);
        var id = ReportBuilder.Id(kind, period, scope, locale);
        var daily = kind == ReportKind.Daily;
        return new ReportFile(id, kind, period, scope, locale, id + (daily ? ".csv" : ".html"), daily ? "text/csv; charset=utf-8" : "text/html; charset=utf-8",
            System.Text.Encoding.UTF8.GetBytes(text), []);
    }
}
