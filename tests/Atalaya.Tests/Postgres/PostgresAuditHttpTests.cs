using System.Net;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// A hub whose audit log lives in PostgreSQL, over real HTTP and the real command line: reads,
/// API changes and CLI changes land in the one chain there (not in the data folder), the audit API
/// and <c>atalaya audit verify --postgres</c> read it; while PostgreSQL is away an administrative
/// call whose entry cannot be written answers 503 with Retry-After (never 500), and a served
/// read's entry is kept and written once the server is back.
/// </summary>
public sealed class PostgresAuditHttpTests(PostgresServer server) : IClassFixture<PostgresServer>, IDisposable
{
    private const string Read = "/api/kpi/query?metric=orders";
    private readonly TempDirectory _cli = new("atalaya-pg-audit-cli");

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Reads_and_changes_from_the_api_and_the_command_line_make_one_chain_in_postgres_that_the_api_and_verify_read()
    {
        var database = await server.NewDatabaseAsync();
        using var state = PostgresState.Open(database);
        await using var hub = await TestHub.StartAsync(o => o with { Postgres = state });
        var admin = hub.CreateToken(Role.Admin);
        var analyst = hub.CreateToken(Role.Analyst);

        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, analyst)).Status);
        var (created, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin, """{"role":"vendor","stores":["st-1"]}""");
        Assert.True(created == HttpStatusCode.Created, body);
        // Another process: the command line, creating a token in the same PostgreSQL.
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "analyst", "--data", _cli.Path, "--postgres", database);
        Assert.True(exit == 0, stderr);

        var listed = await AccessHttp.GetJsonAsync(hub.Client, "/api/audit?limit=100", admin);
        var actions = listed.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["tokens.create", "POST /api/tokens", "GET /api/kpi/query"], actions);
        // The admin's audit read, a served read, is committed within the read window; flush it so
        // the count below does not depend on whether that window has passed yet.
        await hub.Hub.Audit.FlushAsync();
        Assert.Equal(actions.Count + 1, (await PostgresServer.ColumnAsync(database, "SELECT seq FROM audit_log")).Count);
        Assert.Empty(StoredEvents.Query(hub.DataDirectory, "SELECT action FROM audit_log;"));

        (exit, var stdout, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--postgres", database);
        Assert.True(exit == 0, stdout + stderr);
        // Three entries before this check, and the admin's audit read, which is itself audited.
        Assert.Contains("Audit log intact: 4 entries", stdout, StringComparison.Ordinal);

        var (refused, _) = await AccessHttp.GetAsync(hub.Client, "/api/audit?limit=0", admin);
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        await using (var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var tamper = new Npgsql.NpgsqlCommand("ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET rows = 7 WHERE seq = 2;", connection);
            await tamper.ExecuteNonQueryAsync();
        }
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--postgres", database);
        Assert.True(exit == 1, stdout + stderr);
        Assert.Contains("audit log broken at entry 2", stderr, StringComparison.Ordinal);

        (exit, _, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya");
        Assert.Equal(2, exit);
        Assert.Contains("cannot be reached", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task While_postgres_is_away_administrative_calls_answer_503_and_served_reads_are_audited_once_it_is_back()
    {
        var database = await server.NewDatabaseAsync();
        using var state = PostgresState.Open(database);
        var clock = new HeldClock();
        await using var hub = await TestHub.StartAsync(o => o with { Postgres = state, Time = clock });
        var admin = hub.CreateToken(Role.Admin);
        var analyst = hub.CreateToken(Role.Analyst);
        clock.Hold(); // both tokens' lookups, cached now, stay fresh until the clock moves
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, analyst)).Status);
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, "/api/me", admin)).Status);
        await hub.Hub.Audit.FlushAsync();
        var before = hub.Hub.Audit.Committed;

        await server.PauseAsync();
        try
        {
            // The token is known from the cache; the read is served and its entry waits.
            Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, analyst)).Status);
            // Reading the audit needs the server.
            await PostgresTokenHttpTests.AssertUnavailableAsync(hub, HttpMethod.Get, "/api/audit", admin);
            // An erasure is audited before it changes anything: its entry cannot be written, so nothing is done.
            var (erasure, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/privacy/erasure", admin, """{"user_id":"u-nobody"}""");
            Assert.True(erasure == HttpStatusCode.ServiceUnavailable, body);
            // A refused call stays refused for what it is, though its entry cannot be written now.
            Assert.Equal(HttpStatusCode.BadRequest, (await AccessHttp.GetAsync(hub.Client, Read + "&bogus=1", analyst)).Status);
            await Wait.UntilAsync(() => hub.Hub.Audit.FailedCommits > 0, "the audit's commit to meet the stopped server");
        }
        finally
        {
            await server.ResumeAsync();
        }

        await Wait.UntilAsync(() => hub.Hub.Audit.Committed > before, $"the kept read to be committed ({hub.Hub.Audit.LastFailure?.Message})");
        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(hub.Client, "/api/audit", admin)).Status == HttpStatusCode.OK,
            "the audit API to answer again once PostgreSQL is back");
        var entries = (await AccessHttp.GetJsonAsync(hub.Client, "/api/audit?actor=" + hub.Hub.Tokens.Authenticate(analyst)!.Id, admin))
            .GetProperty("data").EnumerateArray().Select(e => (e.GetProperty("action").GetString(), e.GetProperty("status").GetInt32())).ToList();
        Assert.Equal([("GET /api/kpi/query", 200), ("GET /api/kpi/query", 200)], entries);
        Assert.DoesNotContain("privacy.erasure.request", (await PostgresServer.ColumnAsync(database, "SELECT action FROM audit_log")).Cast<string>());
        Assert.True(Engine.Audit.AuditLog.Verify(state).Intact);
    }
}
