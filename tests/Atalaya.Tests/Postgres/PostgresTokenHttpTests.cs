using System.Net;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// A hub whose tokens live in PostgreSQL, over real HTTP: the token API writes the shared rows, a
/// token made by another process on the same database is accepted, and while PostgreSQL is away a
/// call that needs a token lookup answers 503 with Retry-After (never 500) and works again once
/// the server is back.
/// </summary>
public sealed class PostgresTokenHttpTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private const string Read = "/api/kpi/query?metric=orders";

    [Fact]
    public async Task The_token_api_and_the_collector_work_on_the_shared_rows()
    {
        var database = await server.NewDatabaseAsync();
        using var state = PostgresState.Open(database);
        using var otherProcess = PostgresState.Open(database);
        await using var hub = await TestHub.StartAsync(o => o with { Postgres = state });
        var admin = new TokenStore(otherProcess).Create(new TokenRequest(Role.Admin, "made elsewhere")).Secret;

        var (created, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin, """{"role":"vendor","stores":["st-1"]}""");
        Assert.True(created == HttpStatusCode.Created, body);
        var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString();
        Assert.Contains(id, (await PostgresServer.ColumnAsync(database, "SELECT id FROM tokens")).Cast<string>());
        var vendor = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, vendor)).Status);

        using (var events = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.SendAsync(hub.Client, HttpMethod.Delete, $"/api/tokens/{id}", admin)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, Read, vendor)).Status);
        Assert.IsType<long>(Assert.Single(await PostgresServer.ColumnAsync(database, $"SELECT revoked_at FROM tokens WHERE id = '{id}'")));
    }

    [Fact]
    public async Task While_postgres_is_away_token_checks_answer_503_with_retry_after_and_work_again_once_it_is_back()
    {
        var database = await server.NewDatabaseAsync();
        using var state = PostgresState.Open(database);
        var clock = new HeldClock();
        await using var hub = await TestHub.StartAsync(o => o with { Postgres = state, Time = clock });
        var admin = hub.CreateToken(Role.Admin);
        clock.Hold(); // the admin's lookup, cached now, stays fresh until the clock moves
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, admin)).Status);

        await server.PauseAsync();
        try
        {
            // The token is known from the cache, but listing tokens needs the server.
            await AssertUnavailableAsync(hub, HttpMethod.Get, "/api/tokens", admin);
            // Once the cached lookups are a second old, every token check needs it too.
            clock.Release(TimeSpan.FromSeconds(2));
            await AssertUnavailableAsync(hub, HttpMethod.Get, Read, admin);
            await AssertUnavailableAsync(hub, HttpMethod.Get, "/api/tokens", admin);
            await AssertUnavailableAsync(hub, HttpMethod.Get, "/metrics", admin);
            using var events = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, events.StatusCode);
            Assert.NotNull(events.Headers.RetryAfter);
        }
        finally
        {
            await server.ResumeAsync();
        }

        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(hub.Client, Read, admin)).Status == HttpStatusCode.OK,
            "the read answered 200 again once PostgreSQL was back");
        using var after = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var (listed, body) = await AccessHttp.GetAsync(hub.Client, "/api/tokens", admin);
        Assert.True(listed == HttpStatusCode.OK, body);
    }

    internal static async Task AssertUnavailableAsync(TestHub hub, HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await hub.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path} answered {(int)response.StatusCode}: {body}");
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        Assert.Contains("PostgreSQL) cannot be reached", AccessHttp.Error(body), StringComparison.Ordinal);
    }
}
