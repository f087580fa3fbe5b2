using System.Data;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// <c>atalaya migrate --to-cluster --postgres</c> (docs/scale-out.md): copies a data folder's shared
/// state (tokens, runs, audit, alerts, reports, quality findings, refused events, connector pages,
/// webhook bodies, dead letters, erasures) into the cluster's PostgreSQL, where <c>--postgres</c>
/// nodes keep it. One generic copier: the columns both tables have, read from each side's schema,
/// values converted to the PostgreSQL column's type. Idempotent and resumable: each row is looked up
/// by its key before it is inserted (and inserted with ON CONFLICT DO NOTHING), in transactions of
/// <see cref="BatchRows"/> rows, so a run cut off half way finishes on the next one and a second run
/// copies nothing twice. A row whose key PostgreSQL holds with other content is left as it is there
/// and reported (<see cref="Conflict"/>).
/// <para>
/// The marts and the event KPIs of fact_kpi_daily are not copied: a node's daily_batch and the range
/// backfill rebuild them from the migrated events. The connectors' rows of fact_kpi_daily are copied.
/// </para>
/// </summary>
public sealed class StateMigration(string dataDirectory, PostgresState state)
{
    /// <summary>The audit entry that records, in a PostgreSQL chain of its own, the folder chain left behind.</summary>
    public const string AuditKeptAction = "migrate.folder_audit";

    /// <summary>Rows per PostgreSQL transaction.</summary>
    internal int BatchRows { get; init; } = 500;

    /// <summary>
    /// How one table is copied. <paramref name="Key"/>: the columns that name a row (its primary or
    /// unique key); for a table whose only key is a number PostgreSQL assigns (<paramref name="Identity"/>,
    /// not copied), the row's unchanging content, and a row counts as copied once PostgreSQL holds as
    /// many such rows as the folder has read so far. <paramref name="Ignore"/>: columns a live hub
    /// keeps touching, not compared. <paramref name="Where"/>: which folder rows are copied.
    /// </summary>
    internal sealed record Table(string Name, string[] Key, string? Identity = null, string[]? Ignore = null, string? Where = null)
    {
        /// <summary>The key is the row's content, not a declared key: identical rows are counted, not compared.</summary>
        public bool Counted { get; init; }
    }

    /// <summary>The tables, in copy order (a row's references first), with the audit log and report files, which need care.</summary>
    internal static readonly Table[] Tables =
    [
        new("tokens", ["id"], Ignore: ["last_used_at"]),
        new("pipeline_runs", ["run_id"]),
        new(AuditLogTable, ["seq"]),
        new("alerts", ["alert_id"], Ignore: ["last_notified_at"]),
        new("notification_outbox", ["channel", "alert_id", "notification", "created_at"], Identity: "id") { Counted = true },
        new("slo_hours", ["hour", "slo"]),
        new("reports", ["report_id"]),
        new(ReportFilesTable, ["report_id"]),
        new("dq_results", ["run_id", "check_name", "subject"]),
        new("failed_events", ["received_at", "source_system", "request_index", "event_id", "reason", "errors", "payload"], Identity: "id") { Counted = true },
        new("quarantine_overflow", ["received_at", "source_system", "rejected", "kept"]) { Counted = true },
        new("connector_pages", ["provider", "account", "run_id", "page_no", "from_day", "to_day", "fetched_at", "http_status", "request", "content_type", "body"], Identity: "page_id") { Counted = true },
        // The connectors' figures: fetched from the providers, not derived from events, so no batch rebuilds them (the event KPIs it does).
        new("fact_kpi_daily", ["date", "app_id", "platform", "source_system", "metric"], Where: $"source_system IN ({Config.ConnectorSources.SqlList})"),
        new("webhook_inbox", ["provider", "signature"], Identity: "id"),
        new("dead_letters", ["kind", "provider", "account", "day", "run_id", "webhook_id", "error_class", "reason", "created_at"], Identity: "id") { Counted = true },
        // A pending erasure's plan names the folder's blocks; only finished ones mean the same on a cluster.
        new("privacy_erasures", ["erasure_id"], Where: "state = 'done'"),
        // The rates every collector freezes into events and every node converts connector spend with.
        new("fx_rates", ["day", "currency"]),
    ];

    internal const string AuditLogTable = "audit_log";
    internal const string ReportFilesTable = "report_files";

    /// <summary>The folder's tables and their row counts, in copy order (what the progress bars show).</summary>
    public static IReadOnlyList<(string Table, long Rows)> Plan(string dataDirectory)
    {
        var database = HubDatabase.Open(dataDirectory);
        using var connection = database.Connect();
        return [.. Tables.Select(t => (t.Name, Scalar(connection, $"SELECT count(*) FROM {Source(t)}{(t.Where is null ? "" : " WHERE " + t.Where)};")))];
    }

    /// <summary>Copies every table; <paramref name="progress"/> hears the table and the rows done in it so far.</summary>
    public IReadOnlyList<TableOutcome> Run(Action<string, long>? progress, CancellationToken ct) =>
        [.. Tables.Select(t => Copy(t.Name, n => progress?.Invoke(t.Name, n), ct))];

    /// <summary>Copies one table (<see cref="Plan"/> names them).</summary>
    /// <exception cref="StateUnavailableException">PostgreSQL went away; what was committed stays, and a re-run goes on.</exception>
    public TableOutcome Copy(string table, Action<long>? progress, CancellationToken ct)
    {
        var spec = Tables.Single(t => t.Name == table);
        var database = HubDatabase.Open(dataDirectory);
        using var folder = database.Connect();
        try
        {
            return spec.Name == AuditLogTable ? CopyAudit(folder, progress, ct) : CopyRows(spec, folder, progress, ct);
        }
        catch (PostgresException e)
        {
            // Not an outage (that is StateUnavailableException): a row PostgreSQL's schema refuses. The batch was rolled back.
            throw new StateMigrationException($"{table}: PostgreSQL refused a row of the folder ({e.MessageText}); the rows copied before it stay, nothing of its batch was written", e);
        }
    }

    private static string Source(Table table) => table.Name == ReportFilesTable ? "reports" : table.Name;

    private TableOutcome CopyRows(Table spec, SqliteConnection folder, Action<long>? progress, CancellationToken ct)
    {
        var target = state.Run(connection => TargetColumns(connection, spec.Name));
        var sourceColumns = spec.Name == ReportFilesTable ? ["report_id", "content"] : SourceColumns(folder, spec.Name);
        var columns = target.Where(c => c.Name != spec.Identity && sourceColumns.Contains(c.Name, StringComparer.Ordinal)).ToArray();
        var missing = target.Where(c => c.Name != spec.Identity && !c.Nullable && !c.HasDefault && !columns.Contains(c));
        if (missing.FirstOrDefault() is { } required)
        {
            throw new StateMigrationException($"{spec.Name}: the data folder has no column {required.Name}, which PostgreSQL requires; upgrade the folder first (run atalaya once on it).");
        }
        var outcome = new TableOutcome(spec.Name);
        var seen = new Dictionary<UInt128, int>();
        var batch = new List<object?[]>(BatchRows);
        foreach (var row in SourceRows(spec, folder, columns, outcome))
        {
            ct.ThrowIfCancellationRequested();
            batch.Add(row);
            if (batch.Count == BatchRows)
            {
                Write(spec, columns, batch, seen, outcome);
                progress?.Invoke(outcome.Rows);
            }
        }
        Write(spec, columns, batch, seen, outcome);
        progress?.Invoke(outcome.Rows);
        if (spec.Name == "privacy_erasures")
        {
            using var pending = folder.CreateCommand();
            pending.CommandText = "SELECT erasure_id FROM privacy_erasures WHERE state = 'pending' ORDER BY erasure_id;";
            using var reader = pending.ExecuteReader();
            while (reader.Read())
            {
                outcome.Conflicts.Add(new Conflict(spec.Name, $"erasure_id={reader.GetString(0)}",
                    "the erasure is still pending in the folder (its plan names the folder's blocks); start the embedded hub once, which finishes it, then run the same command again"));
            }
        }
        return outcome;
    }

    /// <summary>The folder's rows as PostgreSQL values of <paramref name="columns"/>, in a stable order.</summary>
    private IEnumerable<object?[]> SourceRows(Table spec, SqliteConnection folder, Column[] columns, TableOutcome outcome)
    {
        using var command = folder.CreateCommand();
        if (spec.Name == ReportFilesTable)
        {
            // A report's file is under reports/ in the folder (Reports/ReportStore.cs), in report_files on a cluster.
            command.CommandText = "SELECT report_id, file_name FROM reports ORDER BY report_id;";
            using var reports = command.ExecuteReader();
            while (reports.Read())
            {
                var path = Path.Combine(dataDirectory, "reports", reports.GetString(1));
                if (!File.Exists(path))
                {
                    outcome.Conflicts.Add(new Conflict(spec.Name, $"report_id={reports.GetString(0)}",
                        $"the file {path} is missing from the folder; the report is listed on the cluster without a file: build it again there (atalaya report)."));
                    continue;
                }
                var content = File.ReadAllBytes(path);
                yield return [.. columns.Select(c => c.Name == "report_id" ? reports.GetString(0) : (object)content)];
            }
            yield break;
        }
        var order = spec.Identity ?? string.Join(", ", spec.Key);
        command.CommandText = $"SELECT {string.Join(", ", columns.Select(c => c.Name))} FROM {spec.Name}{(spec.Where is null ? "" : " WHERE " + spec.Where)} ORDER BY {order};";
        var webhookIds = spec.Name == "dead_letters" ? WebhookKeys(folder) : null;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var row = new object?[columns.Length];
            for (var i = 0; i < columns.Length; i++)
            {
                row[i] = Convert(reader.IsDBNull(i) ? null : reader.GetValue(i), columns[i]);
            }
            if (webhookIds is not null && row[Array.FindIndex(columns, c => c.Name == "webhook_id")] is long webhookId)
            {
                // A dead webhook names its body by id, which PostgreSQL assigned afresh: find it by its signature.
                row[Array.FindIndex(columns, c => c.Name == "webhook_id")] = webhookIds.TryGetValue(webhookId, out var key) ? ClusterWebhookId(key) : null;
            }
            yield return row;
        }
    }

    private static Dictionary<long, (string Provider, string Signature)> WebhookKeys(SqliteConnection folder)
    {
        var keys = new Dictionary<long, (string, string)>();
        using var command = folder.CreateCommand();
        command.CommandText = "SELECT id, provider, signature FROM webhook_inbox;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            keys[reader.GetInt64(0)] = (reader.GetString(1), reader.GetString(2));
        }
        return keys;
    }

    private long? ClusterWebhookId((string Provider, string Signature) key) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand("SELECT id FROM webhook_inbox WHERE provider = @provider AND signature = @signature;", connection);
        command.Parameters.AddWithValue("provider", key.Provider);
        command.Parameters.AddWithValue("signature", key.Signature);
        return command.ExecuteScalar() is long id ? id : (long?)null;
    });

    /// <summary>Writes one batch in one transaction: each row looked up by its key, inserted when absent, compared when present.</summary>
    private void Write(Table spec, Column[] columns, List<object?[]> batch, Dictionary<UInt128, int> seen, TableOutcome outcome)
    {
        if (batch.Count == 0)
        {
            return;
        }
        var keyIndexes = spec.Key.Select(k => Array.FindIndex(columns, c => c.Name == k)).Where(i => i >= 0).ToArray();
        var match = string.Join(" AND ", keyIndexes.Select(i => columns[i].Nullable ? $"{columns[i].Name} IS NOT DISTINCT FROM @k{i}" : $"{columns[i].Name} = @k{i}"));
        var lookup = spec.Counted
            ? $"SELECT count(*) FROM {spec.Name} WHERE {match};"
            : $"SELECT {string.Join(", ", columns.Select(c => c.Name))} FROM {spec.Name} WHERE {match} LIMIT 1;";
        var insert = $"INSERT INTO {spec.Name} ({string.Join(", ", columns.Select(c => c.Name))}) VALUES ({string.Join(", ", columns.Select((_, i) => "@v" + i.ToString(CultureInfo.InvariantCulture)))}) ON CONFLICT DO NOTHING;";
        var results = new List<(object?[] Row, bool Copied, string? Difference)>();
        state.Run(connection =>
        {
            results.Clear();
            var occurrences = new Dictionary<UInt128, int>(seen);
            using var transaction = connection.BeginTransaction();
            foreach (var row in batch)
            {
                using var find = new NpgsqlCommand(lookup, connection, transaction);
                foreach (var i in keyIndexes)
                {
                    PortableSql.Add(find, "k" + i.ToString(CultureInfo.InvariantCulture), row[i], columns[i].Type);
                }
                if (spec.Counted)
                {
                    // Identical rows are told apart by how many of them the folder has: the n-th is copied while PostgreSQL holds fewer than n.
                    var hash = KeyHash(keyIndexes.Select(i => row[i]));
                    var nth = occurrences[hash] = occurrences.GetValueOrDefault(hash) + 1;
                    if ((long)find.ExecuteScalar()! >= nth)
                    {
                        results.Add((row, false, null));
                        continue;
                    }
                }
                else
                {
                    using var reader = find.ExecuteReader();
                    if (reader.Read())
                    {
                        var difference = Difference(spec, columns, row, reader);
                        reader.Close();
                        results.Add((row, false, difference));
                        continue;
                    }
                }
                using var add = new NpgsqlCommand(insert, connection, transaction);
                for (var i = 0; i < columns.Length; i++)
                {
                    PortableSql.Add(add, "v" + i.ToString(CultureInfo.InvariantCulture), row[i], columns[i].Type);
                }
                var inserted = add.ExecuteNonQuery() == 1;
                results.Add((row, inserted, inserted ? null : "another row holds one of its unique values (its secret, a firing alert of the same rule and subject, …)"));
            }
            transaction.Commit();
            foreach (var (hash, count) in occurrences)
            {
                seen[hash] = count;
            }
            return 0;
        });
        foreach (var (row, copied, difference) in results)
        {
            outcome.Rows++;
            if (copied)
            {
                outcome.Copied++;
            }
            else if (difference is null)
            {
                outcome.AlreadyThere++;
            }
            else
            {
                outcome.Conflicts.Add(new Conflict(spec.Name, string.Join(", ", keyIndexes.Select(i => $"{columns[i].Name}={row[i]}")), difference));
            }
        }
        batch.Clear();
    }

    /// <summary>Null when PostgreSQL's row is the folder's (the touched columns aside), else which columns differ.</summary>
    private static string? Difference(Table spec, Column[] columns, object?[] row, NpgsqlDataReader existing)
    {
        var differing = new List<string>();
        for (var i = 0; i < columns.Length; i++)
        {
            if (spec.Ignore?.Contains(columns[i].Name) == true)
            {
                continue;
            }
            var there = existing.IsDBNull(i) ? null : existing.GetValue(i);
            var same = (row[i], there) switch
            {
                (null, null) => true,
                (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
                (object a, object b) => a.Equals(b),
                _ => false,
            };
            if (!same)
            {
                differing.Add(columns[i].Name);
            }
        }
        return differing.Count == 0 ? null : $"PostgreSQL holds it with another {string.Join(", ", differing)}";
    }

    private static UInt128 KeyHash(IEnumerable<object?> values)
    {
        var hash = new XxHash128();
        foreach (var value in values)
        {
            var bytes = value switch
            {
                null => [0],
                byte[] b => [1, .. b],
                _ => Encoding.UTF8.GetBytes("2" + System.Convert.ToString(value, CultureInfo.InvariantCulture)),
            };
            hash.Append(BitConverter.GetBytes(bytes.Length));
            hash.Append(bytes);
        }
        return hash.GetCurrentHashAsUInt128();
    }

    /// <summary>
    /// The audit chain. PostgreSQL's log empty, or beginning with the folder's (a run cut off, or a
    /// folder that went on logging): the folder's rows after it are copied verbatim, so the one chain
    /// verifies. PostgreSQL's log a chain of its own: the folder's stays in the folder, and one entry
    /// appended to PostgreSQL's names the folder, its entries and its head hash (once per head).
    /// </summary>
    private TableOutcome CopyAudit(SqliteConnection folder, Action<long>? progress, CancellationToken ct)
    {
        var outcome = new TableOutcome(AuditLogTable);
        var entries = Scalar(folder, "SELECT count(*) FROM audit_log;");
        if (entries == 0)
        {
            return outcome;
        }
        var (folderHeadSeq, folderHeadHash) = FolderHead(folder);
        long? before = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var copied = state.Run(connection =>
            {
                using var transaction = connection.BeginTransaction();
                // The lock nodes append under (PostgresAuditRows): no node's entry comes between the head read and the copy.
                using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresAuditRows.AppendLock});", connection, transaction))
                {
                    lockCommand.ExecuteNonQuery();
                }
                var (headSeq, headHash) = PostgresHead(connection, transaction);
                if (headHash is not null && !FolderHash(folder, headSeq).AsSpan().SequenceEqual(headHash))
                {
                    // Not the folder's chain at its head: either it holds the whole folder chain with entries after it, or a chain of its own.
                    using var at = new NpgsqlCommand("SELECT hash FROM audit_log WHERE seq = @seq;", connection, transaction);
                    at.Parameters.AddWithValue("seq", folderHeadSeq);
                    return at.ExecuteScalar() is byte[] hash && hash.AsSpan().SequenceEqual(folderHeadHash) ? 0 : -1;
                }
                before ??= headSeq;
                using var rows = folder.CreateCommand();
                rows.CommandText = $"SELECT {AuditRow.Columns} FROM audit_log WHERE seq > $after ORDER BY seq LIMIT {BatchRows.ToString(CultureInfo.InvariantCulture)};";
                rows.Parameters.AddWithValue("$after", headSeq);
                using var source = rows.ExecuteReader();
                var count = 0;
                while (source.Read())
                {
                    using var insert = new NpgsqlCommand($"INSERT INTO audit_log ({AuditRow.Columns}) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11);", connection, transaction);
                    for (var i = 0; i < 12; i++)
                    {
                        // rows and status are integer in PostgreSQL; the rest keep their SQLite type (long, text, blob).
                        var value = source.GetValue(i);
                        insert.Parameters.AddWithValue("p" + i.ToString(CultureInfo.InvariantCulture), i is 8 or 9 ? System.Convert.ToInt32(value, CultureInfo.InvariantCulture) : value);
                    }
                    insert.ExecuteNonQuery();
                    count++;
                }
                transaction.Commit();
                return count;
            });
            if (copied < 0)
            {
                return KeepAudit(entries, folderHeadSeq, folderHeadHash, outcome);
            }
            outcome.Copied += copied;
            outcome.AlreadyThere = before ?? entries;
            outcome.Rows = outcome.AlreadyThere + outcome.Copied;
            progress?.Invoke(outcome.Rows);
            if (copied == 0)
            {
                return outcome;
            }
        }
    }

    private static (long Seq, byte[] Hash) FolderHead(SqliteConnection folder)
    {
        using var head = folder.CreateCommand();
        head.CommandText = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;";
        using var reader = head.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), (byte[])reader.GetValue(1));
    }

    private static (long Seq, byte[]? Hash) PostgresHead(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        using var head = new NpgsqlCommand("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;", connection, transaction);
        using var reader = head.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), (byte[])reader.GetValue(1)) : (0, null);
    }

    private TableOutcome KeepAudit(long entries, long headSeq, byte[] folderHeadHash, TableOutcome outcome)
    {
        var headHash = System.Convert.ToHexStringLower(folderHeadHash);
        outcome.Rows = entries;
        outcome.KeptInFolder = true;
        var already = state.Run(connection =>
        {
            using var find = new NpgsqlCommand("SELECT count(*) FROM audit_log WHERE action = @action AND params LIKE @head;", connection);
            find.Parameters.AddWithValue("action", AuditKeptAction);
            find.Parameters.AddWithValue("head", $"%\"head_hash\":\"{headHash}\"%");
            return (long)find.ExecuteScalar()! > 0;
        });
        if (!already)
        {
            var details = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["folder"] = Path.GetFullPath(dataDirectory),
                ["entries"] = entries,
                ["head_seq"] = headSeq,
                ["head_hash"] = headHash,
            });
            AuditLog.AppendNow(state, new AuditEntry(DateTimeOffset.UtcNow, $"cli:{Environment.UserName}", "cli", AuditKeptAction, details, "{}", "{}", 1, 0));
            outcome.Copied = 1;
        }
        else
        {
            outcome.AlreadyThere = 1;
        }
        return outcome;
    }

    private static byte[] FolderHash(SqliteConnection folder, long seq)
    {
        using var command = folder.CreateCommand();
        command.CommandText = "SELECT hash FROM audit_log WHERE seq = $seq;";
        command.Parameters.AddWithValue("$seq", seq);
        return command.ExecuteScalar() as byte[] ?? [];
    }

    private sealed record Column(string Name, DbType Type, bool Nullable, bool HasDefault);

    private static Column[] TargetColumns(NpgsqlConnection connection, string table)
    {
        using var command = new NpgsqlCommand("""
            SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES'
            FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @table ORDER BY ordinal_position;
            """, connection);
        command.Parameters.AddWithValue("table", table);
        using var reader = command.ExecuteReader();
        var columns = new List<Column>();
        while (reader.Read())
        {
            var type = reader.GetString(1) switch
            {
                "bigint" => DbType.Int64,
                "integer" => DbType.Int32,
                "double precision" => DbType.Double,
                "bytea" => DbType.Binary,
                "text" => DbType.String,
                var other => throw new StateMigrationException($"{table}.{reader.GetString(0)}: this atalaya cannot copy a value into PostgreSQL's {other}; is the PostgreSQL schema newer than this atalaya?"),
            };
            columns.Add(new Column(reader.GetString(0), type, reader.GetBoolean(2), reader.GetBoolean(3)));
        }
        return [.. columns];
    }

    private static List<string> SourceColumns(SqliteConnection folder, string table)
    {
        using var command = folder.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{table}');";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    /// <summary>A SQLite value (long, double, text or blob, by the value's own type) as the PostgreSQL column's.</summary>
    private static object? Convert(object? value, Column column) => value is null ? null : column.Type switch
    {
        DbType.Int64 => System.Convert.ToInt64(value, CultureInfo.InvariantCulture),
        DbType.Int32 => System.Convert.ToInt32(value, CultureInfo.InvariantCulture),
        DbType.Double => System.Convert.ToDouble(value, CultureInfo.InvariantCulture),
        DbType.Binary => value as byte[] ?? Encoding.UTF8.GetBytes(System.Convert.ToString(value, CultureInfo.InvariantCulture)!),
        _ => value as string ?? (value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : System.Convert.ToString(value, CultureInfo.InvariantCulture)),
    };

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return System.Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}

/// <summary>What a table's copy did: rows read from the folder, copied, found copied already, and the conflicts left.</summary>
public sealed class TableOutcome(string table)
{
    public string Table { get; } = table;

    public long Rows { get; internal set; }

    public long Copied { get; internal set; }

    public long AlreadyThere { get; internal set; }

    /// <summary>The audit log: PostgreSQL had a chain of its own, so the folder's stayed in the folder and one entry names it.</summary>
    public bool KeptInFolder { get; internal set; }

    public List<Conflict> Conflicts { get; } = [];
}

/// <summary>A row PostgreSQL holds under the same key with other content (kept as it is there), or a folder row that could not be copied.</summary>
public sealed record Conflict(string Table, string Key, string Problem);

/// <summary>A table that cannot be copied (a row PostgreSQL refuses, a schema this build does not know): the message names it.</summary>
public sealed class StateMigrationException : Exception
{
    public StateMigrationException(string message)
        : base(message)
    {
    }

    public StateMigrationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
