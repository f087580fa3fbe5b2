using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Atalaya.Engine.Reports;

/// <summary>
/// Where <see cref="ReportStore"/> keeps the stored reports: the data folder (<see cref="SqliteReportRows"/>:
/// the files under <c>reports/</c>, a row each in SQLite) or a cluster's PostgreSQL
/// (<see cref="PostgresReportRows"/>: row and file content together, so that every node lists and
/// serves every report). Only reaching the storage differs; the report's id, hash, replacement and
/// expiry are one code path in <see cref="ReportStore"/>, and the row statements (<see cref="ReportRow"/>) are shared.
/// </summary>
internal interface IReportRows
{
    /// <summary>Writes the report and its content, replacing the row and content of the same id; a listed report always has its complete content.</summary>
    void Save(StoredReport report, byte[] content);

    /// <summary>Newest period first; only one kind when given, only periods ended before <paramref name="endedBefore"/> when given.</summary>
    IReadOnlyList<StoredReport> Query(string? kind, DateOnly? endedBefore);

    StoredReport? Get(string id);

    /// <summary>The stored content, or null when it is gone (a data folder's file deleted by hand).</summary>
    byte[]? Content(StoredReport report);

    /// <summary>Deletes the report's row, then its content.</summary>
    void Delete(StoredReport report);
}

/// <summary>
/// Reports in the data folder: the file is written to a temporary name, flushed and renamed before
/// the row is written, so a listed report always has its complete file.
/// </summary>
internal sealed class SqliteReportRows(HubDatabase database) : IReportRows
{
    public string PathOf(string fileName) => ReportStore.FileIn(database, fileName);

    public void Save(StoredReport report, byte[] content)
    {
        var path = PathOf(report.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        using var connection = database.Connect();
        ReportRow.Upsert(connection, report);
    }

    public IReadOnlyList<StoredReport> Query(string? kind, DateOnly? endedBefore)
    {
        using var connection = database.Connect();
        return ReportRow.Query(connection, kind, endedBefore);
    }

    public StoredReport? Get(string id)
    {
        using var connection = database.Connect();
        return ReportRow.Get(connection, id);
    }

    public byte[]? Content(StoredReport report)
    {
        try
        {
            return File.ReadAllBytes(PathOf(report.FileName));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void Delete(StoredReport report)
    {
        using (var connection = database.Connect())
        {
            ReportRow.Delete(connection, report.Id);
        }
        File.Delete(PathOf(report.FileName));
    }
}

/// <summary>
/// Reports in a cluster's PostgreSQL (<c>--postgres</c>): the row in <c>reports</c> and the file in
/// <c>report_files</c>, written in one transaction, so the report a node's job built is listed and
/// downloaded on every node. A server that cannot be reached is a <see cref="StateUnavailableException"/>.
/// </summary>
internal sealed class PostgresReportRows(PostgresState state) : IReportRows
{
    public void Save(StoredReport report, byte[] content) => state.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        ReportRow.Upsert(connection, report, transaction);
        using var command = new NpgsqlCommand("""
            INSERT INTO report_files (report_id, content) VALUES (@id, @content)
            ON CONFLICT (report_id) DO UPDATE SET content = excluded.content;
            """, connection, transaction);
        command.Parameters.AddWithValue("id", report.Id);
        command.Parameters.AddWithValue("content", NpgsqlDbType.Bytea, content);
        command.ExecuteNonQuery();
        transaction.Commit();
        return 0;
    });

    public IReadOnlyList<StoredReport> Query(string? kind, DateOnly? endedBefore) => state.Run(connection => ReportRow.Query(connection, kind, endedBefore));

    public StoredReport? Get(string id) => state.Run(connection => ReportRow.Get(connection, id));

    public byte[]? Content(StoredReport report) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand("SELECT content FROM report_files WHERE report_id = @id;", connection);
        command.Parameters.AddWithValue("id", report.Id);
        return command.ExecuteScalar() as byte[];
    });

    /// <summary>The file goes with the row (report_files' foreign key cascades).</summary>
    public void Delete(StoredReport report) => state.Run(connection => ReportRow.Delete(connection, report.Id));
}

/// <summary>
/// The <c>reports</c> statements, the same text on SQLite and PostgreSQL: the table has the same
/// columns in both (days and times as ISO 8601 text, which sorts as time), and both take <c>@name</c> parameters.
/// </summary>
internal static class ReportRow
{
    public static void Upsert(DbConnection connection, StoredReport report, DbTransaction? transaction = null)
    {
        using var command = PortableSql.Command(connection, """
            INSERT INTO reports (report_id, kind, period_start, period_end, scope_kind, scope_value, locale, file_name, content_type, bytes, sha256, created_at, run_id)
            VALUES (@id, @kind, @start, @end, @scope_kind, @scope_value, @locale, @file, @type, @bytes, @sha, @created, @run)
            ON CONFLICT (report_id) DO UPDATE SET file_name = excluded.file_name, content_type = excluded.content_type, bytes = excluded.bytes,
                sha256 = excluded.sha256, created_at = excluded.created_at, run_id = excluded.run_id;
            """, ("id", report.Id), ("kind", ReportKinds.Name(report.Kind)), ("start", Day(report.PeriodStart)), ("end", Day(report.PeriodEnd)),
            ("scope_kind", report.Scope.KindName), ("scope_value", report.Scope.Value), ("locale", report.Locale), ("file", report.FileName),
            ("type", report.ContentType), ("bytes", report.Bytes), ("sha", report.Sha256), ("created", Jobs.PipelineRuns.Iso(report.CreatedAt)),
            ("run", report.RunId));
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    public static List<StoredReport> Query(DbConnection connection, string? kind, DateOnly? endedBefore)
    {
        var where = new List<string>();
        var values = new List<(string, object?)>();
        if (kind is not null)
        {
            where.Add("kind = @kind");
            values.Add(("kind", kind));
        }
        if (endedBefore is { } cutoff)
        {
            where.Add("period_end < @cutoff");
            values.Add(("cutoff", Day(cutoff)));
        }
        return Read(connection, where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where), [.. values]);
    }

    public static StoredReport? Get(DbConnection connection, string id) => Read(connection, "WHERE report_id = @id", ("id", id)).FirstOrDefault();

    public static int Delete(DbConnection connection, string id)
    {
        using var command = PortableSql.Command(connection, "DELETE FROM reports WHERE report_id = @id;", ("id", id));
        return command.ExecuteNonQuery();
    }

    private static List<StoredReport> Read(DbConnection connection, string where, params (string Name, object? Value)[] values)
    {
        // report_id breaks ties byte by byte on both databases (COLLATE "C" in PostgreSQL, SQLite's default).
        using var command = PortableSql.Command(connection, $"""
            SELECT report_id, kind, period_start, period_end, scope_kind, scope_value, locale, file_name, content_type, bytes, sha256, created_at, run_id
            FROM reports {where} ORDER BY period_end DESC, kind, report_id;
            """, values);
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
