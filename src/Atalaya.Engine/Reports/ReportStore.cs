using System.Globalization;
using System.Security.Cryptography;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Reports;

/// <summary>A stored report as the list shows it.</summary>
public sealed record StoredReport(string Id, ReportKind Kind, DateOnly PeriodStart, DateOnly PeriodEnd, ReportScope Scope, string Locale,
    string FileName, string ContentType, long Bytes, string Sha256, DateTimeOffset CreatedAt, string? RunId);

/// <summary>
/// Reports kept under the data folder: the files in <c>reports/</c>, one row each in the
/// <c>reports</c> table. A report's id is fixed by its kind, period, scope and language, so saving
/// it again (a rerun, a catch-up after a restart) replaces the file and its row: there is exactly
/// one report per period and scope. The file is written to a temporary name, flushed and renamed
/// before the row is written, so a listed report always has its complete file.
/// </summary>
public sealed class ReportStore(HubDatabase database)
{
    public const string Folder = "reports";

    public string Directory => Path.Combine(database.DataDirectory, Folder);

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    public StoredReport Save(ReportFile report, DateTimeOffset now, string? runId)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(report.FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(report.Content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        var stored = new StoredReport(report.Id, report.Kind, report.Period.Start, report.Period.End, report.Scope, report.Locale, report.FileName,
            report.ContentType, report.Content.Length, Convert.ToHexStringLower(SHA256.HashData(report.Content)), now, runId);
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO reports (report_id, kind, period_start, period_end, scope_kind, scope_value, locale, file_name, content_type, bytes, sha256, created_at, run_id)
            VALUES ($id, $kind, $start, $end, $scope_kind, $scope_value, $locale, $file, $type, $bytes, $sha, $created, $run)
            ON CONFLICT (report_id) DO UPDATE SET file_name = excluded.file_name, content_type = excluded.content_type, bytes = excluded.bytes,
                sha256 = excluded.sha256, created_at = excluded.created_at, run_id = excluded.run_id;
            """;
        command.Parameters.AddWithValue("$id", stored.Id);
        command.Parameters.AddWithValue("$kind", ReportKinds.Name(stored.Kind));
        command.Parameters.AddWithValue("$start", Day(stored.PeriodStart));
        command.Parameters.AddWithValue("$end", Day(stored.PeriodEnd));
        command.Parameters.AddWithValue("$scope_kind", stored.Scope.KindName);
        command.Parameters.AddWithValue("$scope_value", stored.Scope.Value);
        command.Parameters.AddWithValue("$locale", stored.Locale);
        command.Parameters.AddWithValue("$file", stored.FileName);
        command.Parameters.AddWithValue("$type", stored.ContentType);
        command.Parameters.AddWithValue("$bytes", stored.Bytes);
        command.Parameters.AddWithValue("$sha", stored.Sha256);
        command.Parameters.AddWithValue("$created", Jobs.PipelineRuns.Iso(now));
        command.Parameters.AddWithValue("$run", (object?)runId ?? DBNull.Value);
        command.ExecuteNonQuery();
        return stored;
    }

    /// <summary>Newest period first; optionally only one kind.</summary>
    public IReadOnlyList<StoredReport> List(ReportKind? kind = null)
    {
        using var connection = database.Connect();
        return Read(connection, kind is { } k ? "WHERE kind = $kind" : "", c =>
        {
            if (kind is { } k)
            {
                c.Parameters.AddWithValue("$kind", ReportKinds.Name(k));
            }
        });
    }

    public StoredReport? Get(string id)
    {
        using var connection = database.Connect();
        return Read(connection, "WHERE report_id = $id", c => c.Parameters.AddWithValue("$id", id)).FirstOrDefault();
    }

    /// <summary>Deletes the reports whose period ended more than <paramref name="days"/> days before <paramref name="today"/>; returns how many.</summary>
    public int Expire(DateOnly today, int days)
    {
        var cutoff = today.AddDays(-days);
        using var connection = database.Connect();
        var old = Read(connection, "WHERE period_end < $cutoff", c => c.Parameters.AddWithValue("$cutoff", Day(cutoff)));
        foreach (var report in old)
        {
            // The row goes first: a report is never listed without its file.
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "DELETE FROM reports WHERE report_id = $id;";
                command.Parameters.AddWithValue("$id", report.Id);
                command.ExecuteNonQuery();
            }
            File.Delete(PathOf(report.FileName));
        }
        return old.Count;
    }

    private static List<StoredReport> Read(SqliteConnection connection, string where, Action<SqliteCommand> bind)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT report_id, kind, period_start, period_end, scope_kind, scope_value, locale, file_name, content_type, bytes, sha256, created_at, run_id
            FROM reports {where} ORDER BY period_end DESC, kind, report_id;
            """;
        bind(command);
        using var reader = command.ExecuteReader();
        var reports = new List<StoredReport>();
        while (reader.Read())
        {
            ReportKinds.TryParse(reader.GetString(1), out var kind);
            reports.Add(new StoredReport(reader.GetString(0), kind, DateOnly.Parse(reader.GetString(2), CultureInfo.InvariantCulture),
                DateOnly.Parse(reader.GetString(3), CultureInfo.InvariantCulture), ReportScope.FromStored(reader.GetString(4), reader.GetString(5)),
                reader.GetString(6), reader.GetString(7), reader.GetString(8), reader.GetInt64(9), reader.GetString(10),
                DateTimeOffset.Parse(reader.GetString(11), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                reader.IsDBNull(12) ? null : reader.GetString(12)));
        }
        return reports;
    }

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
