using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Robustness;
using Microsoft.Extensions.Time.Testing;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// The audit of reads (docs/access.md): a served read's entry is group-committed after the answer,
/// within the read window (200 ms); a change or a refused read is committed before its answer and
/// takes every read queued before it along; a crash (kill -9) loses at most the reads of the window.
/// </summary>
public sealed class AuditWindowTests
{
    private static AuditEntry Entry(string action, int status = 200) =>
        new(DateTimeOffset.UnixEpoch, "tok_test", "analyst", action, "{}", "{}", "{}", 1, status);

    [Fact]
    public async Task Served_reads_are_committed_when_the_window_ends_not_before()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var dataDir = NewFolder();
        try
        {
            var database = HubDatabase.Open(dataDir);
            await using (var audit = new AuditLog(database, time, TimeSpan.FromMilliseconds(200)))
            {
                audit.AppendLater(Entry("GET /read-1"));
                await WaitUntilAsync(() => audit.Gathering, "the writer to hold the read for its window");
                audit.AppendLater(Entry("GET /read-2"));

                time.Advance(TimeSpan.FromMilliseconds(199));
                Assert.Equal(0, audit.Committed);
                Assert.Empty(Actions(database));

                time.Advance(TimeSpan.FromMilliseconds(1));
                await WaitUntilAsync(() => audit.Committed == 2,
                    $"the window's reads to be committed (committed {audit.Committed}, gathering {audit.Gathering}, failed {audit.FailedCommits}: {audit.LastFailure?.Message})");
                Assert.Equal(["GET /read-1", "GET /read-2"], Actions(database));
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_change_is_committed_before_it_completes_with_the_reads_queued_before_it()
    {
        // The clock never moves: only the change can have caused the commit.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var dataDir = NewFolder();
        try
        {
            var database = HubDatabase.Open(dataDir);
            await using (var audit = new AuditLog(database, time, TimeSpan.FromMilliseconds(200)))
            {
                audit.AppendLater(Entry("GET /read-1"));
                await WaitUntilAsync(() => audit.Gathering, "the writer to hold the read for its window");

                await audit.AppendAsync(Entry("POST /api/tokens", 201)).WaitAsync(TimeSpan.FromSeconds(30));

                Assert.Equal(["GET /read-1", "POST /api/tokens"], Actions(database));
                await audit.AppendAsync(Entry("GET /refused", 400)).WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(3, Actions(database).Count);
                using var connection = database.Connect();
                Assert.True(AuditLog.Verify(connection).Intact);
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task After_kill_9_every_change_and_the_reads_answered_before_it_are_in_the_log()
    {
        await using var hub = await ChildHub.LaunchAsync("audit-window");
        var admin = await hub.CreateTokenAsync("admin", []);
        using var client = hub.CreateClient();

        // Reads, then with no change after them: committed by the window alone.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GetAsync(client, admin, $"api/kpi/definitions"));
        }
        await WaitUntilAsync(() => Count(hub, "action = 'GET /api/kpi/definitions'") == 5, "the window to commit five served reads");

        // Reads, then a change answered: the change's row and every read before it are durable, kill or not.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GetAsync(client, admin, "api/kpi/summary"));
        }
        using (var create = new HttpRequestMessage(HttpMethod.Post, "api/tokens") { Content = new StringContent("""{"role":"analyst","name":"after-reads"}""", Encoding.UTF8, "application/json") })
        {
            create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            using var created = await client.SendAsync(create);
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }
        await hub.KillAsync();

        Assert.Equal(1, Count(hub, "action = 'POST /api/tokens'"));
        Assert.Equal(20, Count(hub, "action = 'GET /api/kpi/summary'"));
        using (var connection = hub.OpenDatabaseReadOnly())
        {
            Assert.True(AuditLog.Verify(connection).Intact);
        }
        hub.MarkPassed();
    }

    private static async Task<HttpStatusCode> GetAsync(HttpClient client, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static long Count(ChildHub hub, string where)
    {
        using var connection = hub.OpenDatabaseReadOnly();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM audit_log WHERE {where};";
        return (long)command.ExecuteScalar()!;
    }

    private static List<string> Actions(HubDatabase database)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT action FROM audit_log ORDER BY seq;";
        using var reader = command.ExecuteReader();
        var actions = new List<string>();
        while (reader.Read())
        {
            actions.Add(reader.GetString(0));
        }
        return actions;
    }

    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "atalaya-audit-" + Guid.NewGuid().ToString("N"));

    /// <summary>Polls until the condition holds; fails after 30 s (a generous bound for a loaded machine, not a timing claim).</summary>
    internal static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Gave up waiting for {what}.");
            await Task.Delay(10);
        }
    }
}
