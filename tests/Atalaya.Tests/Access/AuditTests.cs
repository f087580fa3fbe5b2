using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Access;

/// <summary>
/// The audit log (docs/access.md): every metrics read, refused ones included, and every administrative
/// change through the API or the command line is recorded with who, what, the scope and the outcome,
/// never a secret; <c>GET /api/audit</c> filters it; <c>atalaya audit verify</c> finds a changed,
/// deleted or reordered entry.
/// </summary>
public sealed class AuditTests
{
    private const string Day = "start_date=2026-03-01&end_date=2026-03-01";

    private static async Task<TestHub> StartWithStoresAsync()
    {
        var hub = await TestHub.StartAsync();
        var events = new List<string>();
        foreach (var (store, country) in new[] { ("st-mx", "MX"), ("st-co", "CO") })
        {
            var created = Events.Valid("store_created");
            created["properties"]!["store_id"] = store;
            created["properties"]!["country"] = country;
            var order = Events.Valid("purchase_completed");
            order["properties"]!["store_id"] = store;
            order["properties"]!["order_id"] = "o-" + store;
            events.Add(created.ToJsonString());
            events.Add(order.ToJsonString());
        }
        using var response = await hub.PostEventsAsync("[" + string.Join(",", events) + "]");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return hub;
    }

    private static async Task<List<JsonElement>> AuditAsync(TestHub hub, string admin, string query)
    {
        var answer = await AccessHttp.GetJsonAsync(hub.Client, "/api/audit?" + query, admin);
        return [.. answer.GetProperty("data").EnumerateArray()];
    }

    private static Dictionary<string, string> Object(JsonElement json) =>
        json.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());

    [Fact]
    public async Task Every_metrics_read_leaves_an_entry_with_its_token_role_action_parameters_scope_rows_and_status_refusals_included()
    {
        await using var hub = await StartWithStoresAsync();
        var admin = hub.CreateToken(Role.Admin);
        var (lead, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead", Countries: ["MX"]));

        var grouped = await AccessHttp.GetJsonAsync(hub.Client, $"/api/kpi/query?metric=orders,gmv&{Day}&group_by=store_id", secret);
        var (refused, _) = await AccessHttp.GetAsync(hub.Client, $"/api/kpi/query?{Day}&country=CO", secret);
        var products = await AccessHttp.GetJsonAsync(hub.Client, $"/api/analysis/top-products?{Day}", secret);
        var (bad, _) = await AccessHttp.GetAsync(hub.Client, "/api/kpi/query?colour=red", secret);
        await FirstSummaryAsync(hub, secret, "/api/kpi/events?metric=orders");

        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        var entries = await AuditAsync(hub, admin, "actor=" + lead.Id);
        Assert.Equal(["GET /api/kpi/events", "GET /api/kpi/query", "GET /api/analysis/top-products", "GET /api/kpi/query", "GET /api/kpi/query"],
            entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e =>
        {
            Assert.Equal(lead.Id, e.GetProperty("actor").GetString());
            Assert.Equal("country_ops_lead", e.GetProperty("role").GetString());
            Assert.Equal(new Dictionary<string, string> { ["role"] = "country_ops_lead", ["countries"] = """["MX"]""", ["hubs"] = "[]", ["zones"] = "[]", ["stores"] = "[]" },
                Object(e.GetProperty("scope")));
            Assert.Equal(new Dictionary<string, string> { ["country"] = """["MX"]""" }, Object(e.GetProperty("injected")));
        });
        var (sse, bad400, top, forbidden, first) = (entries[0], entries[1], entries[2], entries[3], entries[4]);
        Assert.Equal(new Dictionary<string, string> { ["end_date"] = "2026-03-01", ["group_by"] = "store_id", ["metric"] = "orders,gmv", ["start_date"] = "2026-03-01" },
            Object(first.GetProperty("params")));
        Assert.Equal(200, first.GetProperty("status").GetInt32());
        Assert.Equal(grouped.GetProperty("count").GetInt32(), first.GetProperty("rows").GetInt32());
        Assert.Equal(2, first.GetProperty("rows").GetInt32());
        Assert.Equal(403, forbidden.GetProperty("status").GetInt32());
        Assert.Equal("CO", Object(forbidden.GetProperty("params"))["country"]);
        Assert.Equal(0, forbidden.GetProperty("rows").GetInt32());
        Assert.Equal(200, top.GetProperty("status").GetInt32());
        Assert.Equal(products.GetProperty("data").GetArrayLength(), top.GetProperty("rows").GetInt32());
        Assert.Equal(400, bad400.GetProperty("status").GetInt32());
        Assert.Equal(200, sse.GetProperty("status").GetInt32());
        Assert.Equal("orders", Object(sse.GetProperty("params"))["metric"]);
    }

    [Fact]
    public async Task Token_changes_through_the_api_and_the_command_line_are_recorded_and_no_secret_is()
    {
        await using var hub = await TestHub.StartAsync();
        var (adminToken, admin) = hub.Hub.Tokens.Create(new TokenRequest(Role.Admin, "admin"));

        var (createdStatus, createdBody) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin,
            """{"role": "country_ops_lead", "countries": ["MX", "CO"], "hubs": ["cdmx-norte"]}""");
        var created = JsonDocument.Parse(createdBody).RootElement;
        var apiId = created.GetProperty("id").GetString()!;
        var apiSecret = created.GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.Created, createdStatus);
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.SendAsync(hub.Client, HttpMethod.Delete, $"/api/tokens/{apiId}", admin)).Status);
        var (cliExit, cliOut, cliErr) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "vendor", "--store", "st-9", "--name", "cli vendor", "--data", hub.DataDirectory);
        Assert.True(cliExit == 0, cliOut + cliErr);
        var cliSecret = cliOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        var cliId = hub.Hub.Tokens.List().Single(t => t.Name == "cli vendor").Id;
        var (revokeExit, revokeOut, revokeErr) = await AtalayaProcess.RunAsync("tokens", "revoke", cliId, "--data", hub.DataDirectory);
        Assert.True(revokeExit == 0, revokeOut + revokeErr);

        var entries = await AuditAsync(hub, admin, "limit=100");
        var apiCreate = Assert.Single(entries, e => e.GetProperty("action").GetString() == "POST /api/tokens");
        Assert.Equal(adminToken.Id, apiCreate.GetProperty("actor").GetString());
        Assert.Equal(201, apiCreate.GetProperty("status").GetInt32());
        var createdParams = apiCreate.GetProperty("params");
        Assert.Equal(apiId, createdParams.GetProperty("created").GetString());
        Assert.Equal("country_ops_lead", createdParams.GetProperty("role").GetString());
        Assert.Equal(["MX", "CO"], createdParams.GetProperty("countries").EnumerateArray().Select(c => c.GetString()));
        var apiRevoke = Assert.Single(entries, e => e.GetProperty("action").GetString() == $"DELETE /api/tokens/{apiId}");
        Assert.Equal(adminToken.Id, apiRevoke.GetProperty("actor").GetString());
        Assert.Equal(apiId, apiRevoke.GetProperty("params").GetProperty("revoked").GetString());
        var cliCreate = Assert.Single(entries, e => e.GetProperty("action").GetString() == "tokens.create");
        Assert.StartsWith("cli:", cliCreate.GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.Equal(cliId, cliCreate.GetProperty("params").GetProperty("created").GetString());
        Assert.Equal(["st-9"], cliCreate.GetProperty("params").GetProperty("stores").EnumerateArray().Select(c => c.GetString()));
        var cliRevoke = Assert.Single(entries, e => e.GetProperty("action").GetString() == "tokens.revoke");
        Assert.Equal(cliId, cliRevoke.GetProperty("params").GetProperty("revoked").GetString());

        await hub.Hub.Audit.FlushAsync(); // served reads are committed within the read window
        var everything = string.Join("\n", StoredEvents.Query(hub.DataDirectory,
            "SELECT actor || role || action || params || scope || injected FROM audit_log;"));
        foreach (var secret in new[] { admin, apiSecret, cliSecret })
        {
            Assert.StartsWith("atl_", secret, StringComparison.Ordinal);
            Assert.DoesNotContain(secret[4..], everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_audit_api_filters_by_actor_action_time_window_and_limit_newest_first()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var (analyst, analystSecret) = hub.Hub.Tokens.Create(new TokenRequest(Role.Analyst, "analyst"));
        var (vendor, vendorSecret) = hub.Hub.Tokens.Create(new TokenRequest(Role.Vendor, "vendor", Stores: ["st-1"]));
        for (var i = 0; i < 3; i++)
        {
            await AccessHttp.GetAsync(hub.Client, "/api/kpi/query?metric=orders", analystSecret);
            await AccessHttp.GetAsync(hub.Client, "/api/kpi/definitions", vendorSecret);
            await Task.Delay(15);
        }
        await AccessHttp.GetAsync(hub.Client, "/api/kpi/summary", analystSecret);

        var all = await AuditAsync(hub, admin, "limit=1000");
        var seqs = all.Select(e => e.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(seqs.OrderDescending(), seqs);
        Assert.True(all.Count == 7, string.Join(", ", all.Select(e => e.GetProperty("action").GetString() + " " + e.GetProperty("actor").GetString())));

        var byAnalyst = await AuditAsync(hub, admin, "actor=" + analyst.Id);
        Assert.Equal(4, byAnalyst.Count);
        Assert.All(byAnalyst, e => Assert.Equal(analyst.Id, e.GetProperty("actor").GetString()));

        var queries = await AuditAsync(hub, admin, "action=" + Uri.EscapeDataString("GET /api/kpi/query"));
        Assert.Equal(3, queries.Count);
        Assert.Empty(await AuditAsync(hub, admin, $"actor={vendor.Id}&action={Uri.EscapeDataString("GET /api/kpi/query")}"));

        var newestTwo = await AuditAsync(hub, admin, $"actor={analyst.Id}&limit=2");
        Assert.Equal(["GET /api/kpi/summary", "GET /api/kpi/query"], newestTwo.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(seqs[0], newestTwo[0].GetProperty("seq").GetInt64());
        // Reading the audit log is itself recorded.
        var newest = Assert.Single(await AuditAsync(hub, admin, "limit=1"));
        Assert.Equal("GET /api/audit", newest.GetProperty("action").GetString());
        Assert.True(newest.GetProperty("seq").GetInt64() > seqs[0]);

        // from is inclusive, to exclusive, both instants; the readers' entries only, as the admin's audit reads keep adding some.
        var middle = all[3];
        var at = middle.GetProperty("at").GetString()!;
        var readers = all.Where(e => e.GetProperty("actor").GetString() != newest.GetProperty("actor").GetString()).ToList();
        var from = (await AuditAsync(hub, admin, "limit=1000&from=" + Uri.EscapeDataString(at))).Where(e => e.GetProperty("action").GetString() != "GET /api/audit").ToList();
        var to = (await AuditAsync(hub, admin, "limit=1000&to=" + Uri.EscapeDataString(at))).Where(e => e.GetProperty("action").GetString() != "GET /api/audit").ToList();
        var instant = DateTimeOffset.Parse(at, CultureInfo.InvariantCulture);
        Assert.Equal(readers.Count(e => DateTimeOffset.Parse(e.GetProperty("at").GetString()!, CultureInfo.InvariantCulture) >= instant), from.Count);
        Assert.Equal(readers.Count - from.Count, to.Count);
        Assert.Contains(from, e => e.GetProperty("seq").GetInt64() == middle.GetProperty("seq").GetInt64());
        Assert.DoesNotContain(to, e => e.GetProperty("seq").GetInt64() == middle.GetProperty("seq").GetInt64());

        Assert.Equal(HttpStatusCode.BadRequest, (await AccessHttp.GetAsync(hub.Client, "/api/audit?limit=0", admin)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await AccessHttp.GetAsync(hub.Client, "/api/audit?from=yesterday-ish", admin)).Status);
    }

    [Fact]
    public async Task A_token_pasted_into_a_query_string_is_not_written_to_the_audit_log()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var analyst = hub.CreateToken(Role.Analyst);

        var (unknownParameter, _) = await AccessHttp.GetAsync(hub.Client, "/api/kpi/query?access_token=" + analyst, analyst);
        var (asMetric, _) = await AccessHttp.GetAsync(hub.Client, "/api/kpi/query?metric=" + analyst, analyst);
        var (asFilter, _) = await AccessHttp.GetAsync(hub.Client, "/api/kpi/query?metric=gmv&store_id=st-1," + analyst, analyst);

        Assert.Equal(HttpStatusCode.BadRequest, unknownParameter);
        Assert.Equal(HttpStatusCode.BadRequest, asMetric);
        Assert.Equal(HttpStatusCode.OK, asFilter);
        await hub.Hub.Audit.FlushAsync(); // served reads are committed within the read window
        var everything = string.Join("\n", StoredEvents.Query(hub.DataDirectory, "SELECT params FROM audit_log;"));
        Assert.Equal(3, everything.Split('\n').Length);
        Assert.DoesNotContain(analyst[4..], everything, StringComparison.Ordinal);
        Assert.DoesNotContain(analyst[4..], (await AccessHttp.GetAsync(hub.Client, "/api/audit", admin)).Body, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, int, string> Tamperings() => new()
    {
        { "untouched", "", 0, "intact" },
        { "a field changed", "UPDATE audit_log SET rows = rows + 1 WHERE seq = 3;", 1, "entry 3" },
        { "a row deleted", "DELETE FROM audit_log WHERE seq = 3;", 1, "entry 4" },
        {
            "two rows swapped",
            """
            CREATE TEMP TABLE swap AS SELECT * FROM audit_log WHERE seq IN (3, 4);
            UPDATE audit_log SET (at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash) =
                (SELECT at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash FROM swap WHERE swap.seq = 7 - audit_log.seq)
                WHERE seq IN (3, 4);
            """,
            1, "entry 3"
        },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task Audit_verify_reports_the_first_broken_entry_of_a_tampered_log_with_exit_code_1(string tampering, string sql, int exitCode, string named)
    {
        var copy = Path.Combine(Path.GetTempPath(), "atalaya-audit-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var hub = await TestHub.StartAsync())
            {
                var reader = hub.CreateToken(Role.Analyst);
                foreach (var path in new[] { "/api/kpi/query?metric=gmv", "/api/kpi/summary", "/api/kpi/definitions", "/api/kpi/query?country=MX", "/api/analysis/retention", "/api/kpi/query?metric=orders" })
                {
                    await AccessHttp.GetAsync(hub.Client, path, reader);
                }
                await hub.RestartAsync(() => CopyDirectory(hub.DataDirectory, copy));
            }
            using (var connection = new SqliteConnection($"Data Source={Path.Combine(copy, "atalaya.db")};Pooling=False"))
            {
                connection.Open();
                Assert.Equal(6, Scalar(connection, "SELECT count(*) FROM audit_log;"));
                if (sql.Length > 0)
                {
                    // The triggers stop an honest mistake; an attacker with the file drops them first.
                    Assert.Throws<SqliteException>(() => Execute(connection, "UPDATE audit_log SET rows = 0 WHERE seq = 1;"));
                    Assert.Throws<SqliteException>(() => Execute(connection, "DELETE FROM audit_log WHERE seq = 1;"));
                    Execute(connection, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
                    Execute(connection, sql);
                }
            }

            var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--data", copy);

            Assert.True(exit == exitCode, $"{tampering}: exit code {exit}, expected {exitCode}\n{stdout}{stderr}");
            Assert.Contains(named, stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static async Task FirstSummaryAsync(TestHub hub, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15)) is { } line && !line.StartsWith("data: ", StringComparison.Ordinal))
        {
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
