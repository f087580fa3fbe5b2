using System.Security.Cryptography;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Reports;

/// <summary>A stored report as the list shows it.</summary>
public sealed record StoredReport(string Id, ReportKind Kind, DateOnly PeriodStart, DateOnly PeriodEnd, ReportScope Scope, string Locale,
    string FileName, string ContentType, long Bytes, string Sha256, DateTimeOffset CreatedAt, string? RunId);

/// <summary>
/// The stored reports: under the data folder (the files in <c>reports/</c>, one row each in the
/// <c>reports</c> table), or on a cluster node started with <c>--postgres</c> in PostgreSQL, shared
/// by every node (<see cref="IReportRows"/>). A report's id is fixed by its kind, period, scope and
/// language, so saving it again (a rerun, a catch-up after a restart, another node's run) replaces
/// its content and row: there is exactly one report per period and scope.
/// </summary>
public sealed class ReportStore
{
    public const string Folder = "reports";

    private readonly IReportRows _rows;

    /// <summary>The data folder's reports.</summary>
    public ReportStore(HubDatabase database)
        : this(new SqliteReportRows(database))
    {
    }

    private ReportStore(IReportRows rows) => _rows = rows;

    /// <summary>The cluster's reports in PostgreSQL; reaching it fails with <see cref="StateUnavailableException"/>.</summary>
    public static ReportStore Shared(PostgresState state) => new(new PostgresReportRows(state));

    /// <summary>Where the store keeps reports: the data folder's, or the cluster's PostgreSQL when given.</summary>
    public static ReportStore For(HubDatabase database, PostgresState? shared) => shared is null ? new ReportStore(database) : Shared(shared);

    /// <summary>Where the data folder keeps a stored report's file.</summary>
    public static string FileIn(HubDatabase database, string fileName) => Path.Combine(database.DataDirectory, Folder, fileName);

    public StoredReport Save(ReportFile report, DateTimeOffset now, string? runId)
    {
        var stored = new StoredReport(report.Id, report.Kind, report.Period.Start, report.Period.End, report.Scope, report.Locale, report.FileName,
            report.ContentType, report.Content.Length, Convert.ToHexStringLower(SHA256.HashData(report.Content)), now, runId);
        _rows.Save(stored, report.Content);
        return stored;
    }

    /// <summary>Newest period first; optionally only one kind.</summary>
    public IReadOnlyList<StoredReport> List(ReportKind? kind = null) => _rows.Query(kind is { } k ? ReportKinds.Name(k) : null, endedBefore: null);

    public StoredReport? Get(string id) => _rows.Get(id);

    /// <summary>The report's file, or null when it is gone (deleted by hand from the data folder).</summary>
    public byte[]? Content(StoredReport report) => _rows.Content(report);

    /// <summary>Deletes the reports whose period ended more than <paramref name="days"/> days before <paramref name="today"/>; returns how many.</summary>
    public int Expire(DateOnly today, int days)
    {
        var old = _rows.Query(kind: null, endedBefore: today.AddDays(-days));
        foreach (var report in old)
        {
            // The row goes first: a report is never listed without its file.
            _rows.Delete(report);
        }
        return old.Count;
    }
}
