using Atalaya.Engine.Audit;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The audit log's behaviour, asserted the same way on both places its rows can live: the data
/// folder's SQLite database and a cluster's PostgreSQL. Appends, the group commit of served reads
/// within the read window, queries, verification, tampering found at the row it touched, and two
/// logs on one backing (two nodes, or the server and the CLI) appending concurrently to one chain.
/// </summary>
public sealed class AuditLogConformanceTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly TempDirectory _folder = new("atalaya-audit-conformance");
    private readonly List<PostgresState> _opened = [];
    private readonly List<AuditLog> _logs = [];
    private string _postgres = "";

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    public async Task InitializeAsync() => _postgres = await server.NewDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var log in _logs)
        {
            await log.DisposeAsync();
        }
        _opened.ForEach(s => s.Dispose());
        _folder.Dispose();
    }

    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static AuditEntry Entry(string action, int status = 200, string actor = "tok_test", DateTimeOffset? at = null, int rows = 1) =>
        new(at ?? Start, actor, "analyst", action, """{"metric":"gmv"}""", """{"countries":["MX"]}""", "{}", rows, status);

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Appended_entries_are_chained_in_order_and_verify_and_every_field_reads_back(string backend)
    {
        var log = Log(backend, TimeProvider.System);
        var first = Entry("POST /api/tokens", 201, actor: "tok_admin", at: Start);
        await log.AppendAsync(first);
        log.AppendNow(Entry("tokens.revoke", 0, actor: "cli:ops", at: Start.AddSeconds(1)));
        await log.AppendAsync(Entry("GET /api/kpi/query", 403, at: Start.AddSeconds(2), rows: 0));

        var records = log.Query(null, null, null, null, 10);
        Assert.Equal([3L, 2L, 1L], records.Select(r => r.Seq));
        Assert.Equal(first, records[2].Entry);
        Assert.Equal(new byte[32], records[2].PreviousHash);
        for (var i = 0; i < 3; i++)
        {
            // The reference: SHA-256 over the link and the fields, recomputed here from what was read back.
            var record = records[i];
            Assert.Equal(AuditLog.Hash(record.Seq, record.Entry, record.PreviousHash), record.Hash);
            if (i < 2)
            {
                Assert.Equal(records[i + 1].Hash, record.PreviousHash);
            }
        }
        var verified = log.Verify();
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(3, verified.Checked);
        Assert.Equal(verified, Verify(backend));
    }

    [Fact]
    public void The_same_entries_make_the_same_chain_byte_for_byte_in_both_databases()
    {
        var entries = Enumerable.Range(0, 5).Select(i => Entry($"GET /read-{i}", at: Start.AddMilliseconds(i * 1001), rows: i)).ToArray();
        var sqlite = Log("sqlite", TimeProvider.System);
        var postgres = Log("postgres", TimeProvider.System);
        sqlite.AppendNow(entries);
        postgres.AppendNow(entries);

        var fromSqlite = sqlite.Query(null, null, null, null, 10);
        var fromPostgres = postgres.Query(null, null, null, null, 10);
        Assert.Equal(fromSqlite.Select(r => (r.Seq, r.Entry, Convert.ToHexString(r.PreviousHash), Convert.ToHexString(r.Hash))),
            fromPostgres.Select(r => (r.Seq, r.Entry, Convert.ToHexString(r.PreviousHash), Convert.ToHexString(r.Hash))));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Served_reads_are_committed_when_the_window_ends_not_before_and_a_change_takes_them_along(string backend)
    {
        var time = new FakeTimeProvider(Start);
        var log = Log(backend, time);
        log.AppendLater(Entry("GET /read-1"));
        await Wait.UntilAsync(() => log.Gathering, "the writer to hold the read for its window");
        log.AppendLater(Entry("GET /read-2"));
        time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, log.Committed);
        Assert.Empty(log.Query(null, null, null, null, 10));

        time.Advance(TimeSpan.FromMilliseconds(1));
        await Wait.UntilAsync(() => log.Committed == 2, $"the window's reads to be committed ({log.LastFailure?.Message})");
        Assert.Equal(["GET /read-2", "GET /read-1"], log.Query(null, null, null, null, 10).Select(r => r.Entry.Action));

        // The clock stands still from here: only the change can commit the read queued before it.
        log.AppendLater(Entry("GET /read-3"));
        await Wait.UntilAsync(() => log.Gathering, "the writer to hold the read for its window");
        await log.AppendAsync(Entry("POST /api/tokens", 201)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["POST /api/tokens", "GET /read-3", "GET /read-2", "GET /read-1"], log.Query(null, null, null, null, 10).Select(r => r.Entry.Action));
        Assert.True(log.Verify().Intact);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Queries_filter_by_actor_action_and_time_window_newest_first_up_to_the_limit(string backend)
    {
        var log = Log(backend, TimeProvider.System);
        log.AppendNow(
            Entry("GET /api/kpi/query", actor: "tok_a", at: Start),
            Entry("GET /api/kpi/summary", actor: "tok_a", at: Start.AddMinutes(1)),
            Entry("GET /api/kpi/query", actor: "tok_b", at: Start.AddMinutes(2)),
            Entry("GET /api/kpi/query", actor: "tok_a", at: Start.AddMinutes(3)));
        await log.FlushAsync();

        Assert.Equal([4L, 2L, 1L], log.Query("tok_a", null, null, null, 10).Select(r => r.Seq));
        Assert.Equal([4L, 3L, 1L], log.Query(null, "GET /api/kpi/query", null, null, 10).Select(r => r.Seq));
        Assert.Equal([4L, 1L], log.Query("tok_a", "GET /api/kpi/query", null, null, 10).Select(r => r.Seq));
        Assert.Equal([3L, 2L], log.Query(null, null, Start.AddMinutes(1), Start.AddMinutes(3), 10).Select(r => r.Seq)); // from inclusive, to exclusive
        Assert.Equal([4L, 3L], log.Query(null, null, null, null, 2).Select(r => r.Seq));
        Assert.Empty(log.Query("tok_nobody", null, null, null, 10));
    }

    /// <summary>Each tampering in both dialects, the entry the verification must name, and the problem it reports.</summary>
    public static TheoryData<string, string, long, string> Tamperings()
    {
        var data = new TheoryData<string, string, long, string>();
        foreach (var backend in new[] { "sqlite", "postgres" })
        {
            data.Add(backend, "a field changed", 3, "was changed after it was written");
            data.Add(backend, "a row deleted", 4, "follows entry 2");
            data.Add(backend, "two rows swapped", 3, "does not link to the entry before it");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void Tampering_breaks_the_chain_at_the_row_it_touched_and_the_append_only_guard_stops_an_honest_mistake(string backend, string tampering, long brokenAt, string problem)
    {
        var log = Log(backend, TimeProvider.System);
        for (var i = 1; i <= 6; i++)
        {
            log.AppendNow(Entry($"GET /read-{i}", at: Start.AddSeconds(i)));
        }
        Assert.True(log.Verify().Intact);

        // The guard refuses an update and a delete; an attacker with the database drops it first.
        Assert.ThrowsAny<System.Data.Common.DbException>(() => Execute(backend, "UPDATE audit_log SET rows = 0 WHERE seq = 1;"));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => Execute(backend, "DELETE FROM audit_log WHERE seq = 1;"));
        Assert.True(log.Verify().Intact);
        Execute(backend, backend == "sqlite"
            ? "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
            : "ALTER TABLE audit_log DISABLE TRIGGER USER;");
        Execute(backend, (tampering, backend) switch
        {
            ("a field changed", _) => "UPDATE audit_log SET rows = rows + 1 WHERE seq = 3;",
            ("a row deleted", _) => "DELETE FROM audit_log WHERE seq = 3;",
            (_, "sqlite") => """
                CREATE TEMP TABLE swap AS SELECT * FROM audit_log WHERE seq IN (3, 4);
                UPDATE audit_log SET (at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash) =
                    (SELECT at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash FROM swap WHERE swap.seq = 7 - audit_log.seq)
                    WHERE seq IN (3, 4);
                """,
            _ => """
                UPDATE audit_log AS a SET (at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash) =
                    (SELECT at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash FROM audit_log AS b WHERE b.seq = 7 - a.seq)
                    WHERE a.seq IN (3, 4);
                """,
        });

        var result = log.Verify();
        Assert.False(result.Intact);
        Assert.Equal(brokenAt, result.BrokenAt);
        Assert.Contains(problem, result.Problem, StringComparison.Ordinal);
        Assert.Equal(result, Verify(backend));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Two_logs_on_one_backing_appending_concurrently_make_one_chain_holding_every_entry_once(string backend)
    {
        // Two nodes (or the server and the CLI), each with its own writer and connections.
        var logs = new[] { Log(backend, TimeProvider.System, TimeSpan.FromMilliseconds(5)), Log(backend, TimeProvider.System, TimeSpan.FromMilliseconds(5)) };
        const int PerWriter = 150;
        using var go = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            go.Wait();
            var log = logs[w % 2];
            for (var i = 0; i < PerWriter; i++)
            {
                var entry = Entry($"w{w}-{i}", actor: $"node-{w % 2}");
                switch (i % 3)
                {
                    case 0:
                        log.AppendLater(entry);
                        break;
                    case 1:
                        await log.AppendAsync(entry);
                        break;
                    default:
                        log.AppendNow(entry);
                        break;
                }
            }
        })).ToArray();
        go.Set();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(2));
        await Task.WhenAll(logs.Select(l => l.FlushAsync())).WaitAsync(TimeSpan.FromMinutes(1));

        var verified = Verify(backend);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(4 * PerWriter, verified.Checked);
        var actions = logs[0].Query(null, null, null, null, 10_000).Select(r => r.Entry.Action).ToList();
        Assert.Equal(Enumerable.Range(0, 4).SelectMany(w => Enumerable.Range(0, PerWriter).Select(i => $"w{w}-{i}")).Order(StringComparer.Ordinal),
            actions.Order(StringComparer.Ordinal));
        // Each writer's entries keep their order in the one chain (newest first here).
        foreach (var w in Enumerable.Range(0, 4))
        {
            var mine = actions.Where(a => a.StartsWith($"w{w}-", StringComparison.Ordinal)).Select(a => int.Parse(a[(a.IndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, PerWriter).Reverse(), mine);
        }
        // Both logs appended some of them: the chain really was shared.
        Assert.All(logs, l => Assert.True(l.Committed > 0));
    }

    [Fact]
    public async Task While_postgres_is_away_a_change_fails_as_unavailable_and_served_reads_are_kept_and_committed_once_it_is_back()
    {
        var log = Log("postgres", TimeProvider.System, TimeSpan.FromMilliseconds(50));
        await log.AppendAsync(Entry("POST /api/tokens", 201));
        await server.PauseAsync();
        try
        {
            log.AppendLater(Entry("GET /read-while-away-1"));
            log.AppendLater(Entry("GET /read-while-away-2"));
            await Assert.ThrowsAsync<StateUnavailableException>(() => log.AppendAsync(Entry("DELETE /api/tokens/tok_1", 200)));
            await Wait.UntilAsync(() => log.FailedCommits > 0, "a commit to meet the stopped server");
            Assert.Throws<StateUnavailableException>(() => log.Verify());
        }
        finally
        {
            await server.ResumeAsync();
        }

        await Wait.UntilAsync(() => log.Committed == 3, $"the kept reads to be committed once PostgreSQL is back ({log.LastFailure?.Message})");
        Assert.Equal(["GET /read-while-away-2", "GET /read-while-away-1", "POST /api/tokens"], log.Query(null, null, null, null, 10).Select(r => r.Entry.Action));
        Assert.True(log.Verify().Intact);
        Assert.Equal(0, log.DroppedReads);
    }

    private AuditLog Log(string backend, TimeProvider time, TimeSpan? window = null)
    {
        var log = backend == "sqlite"
            ? new AuditLog(HubDatabase.Open(_folder.Path), time, window ?? TimeSpan.FromMilliseconds(200))
            : new AuditLog(Open(), time, window ?? TimeSpan.FromMilliseconds(200));
        _logs.Add(log);
        return log;
    }

    private PostgresState Open()
    {
        var state = PostgresState.Open(_postgres);
        _opened.Add(state);
        return state;
    }

    /// <summary>The verification another process (the CLI) would run on the same backing.</summary>
    private AuditVerification Verify(string backend)
    {
        if (backend == "postgres")
        {
            return AuditLog.Verify(Open());
        }
        using var connection = HubDatabase.Open(_folder.Path).Connect();
        return AuditLog.Verify(connection);
    }

    private void Execute(string backend, string sql)
    {
        if (backend == "sqlite")
        {
            using var connection = new SqliteConnection($"Data Source={Path.Combine(_folder.Path, "atalaya.db")};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
            return;
        }
        using var pg = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_postgres) { Pooling = false }.ConnectionString);
        pg.Open();
        using var pgCommand = new NpgsqlCommand(sql, pg);
        pgCommand.ExecuteNonQuery();
    }
}
