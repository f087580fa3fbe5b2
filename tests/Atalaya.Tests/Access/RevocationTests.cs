using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Access;

/// <summary>
/// A revoked token stops working on the running server within a second, whoever revokes it: the API
/// at once, the command line once the server's cached lookup is a second old. The delay itself is
/// measured by <c>bench delays</c> (docs/benchmarks.md), not here.
/// </summary>
public sealed class RevocationTests
{
    private const string Read = "/api/kpi/query?metric=orders";

    [Fact]
    public async Task A_token_revoked_through_the_api_is_refused_by_the_very_next_request()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var (token, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead", Countries: ["MX"]));
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, secret)).Status);

        var (revoke, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Delete, $"/api/tokens/{token.Id}", admin);

        Assert.True(revoke == HttpStatusCode.OK, body);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, Read, secret)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, "/api/kpi/summary", secret)).Status);
    }

    [Fact]
    public async Task A_token_revoked_by_the_command_line_on_the_same_folder_is_refused_by_the_running_server_once_its_cached_lookup_is_a_second_old()
    {
        var clock = new MovableClock();
        await using var hub = await TestHub.StartAsync(o => o with { Time = clock });
        var (token, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.Vendor, "vendor", Stores: ["st-1"]));
        // The server's token cache is warm: the worst case for a revocation made elsewhere.
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, secret)).Status);

        var (exitCode, stdout, stderr) = await AtalayaProcess.RunAsync("tokens", "revoke", token.Id, "--data", hub.DataDirectory);
        Assert.True(exitCode == 0, $"tokens revoke exited {exitCode}: {stdout} {stderr}");
        Assert.Contains(hub.Hub.Tokens.List(), t => t.Id == token.Id && t.IsRevoked);

        // Half a second later the cached lookup may still answer (the documented bound is a second)…
        clock.Advance(TimeSpan.FromMilliseconds(500));
        await AccessHttp.GetAsync(hub.Client, Read, secret);
        // …and once the lookup it cached before the revocation is a second old, every request is refused.
        clock.Advance(TimeSpan.FromMilliseconds(501));
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, Read, secret)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, "/api/kpi/summary", secret)).Status);
    }

    [Fact]
    public async Task An_open_event_stream_of_a_token_revoked_elsewhere_sends_nothing_once_the_revocation_is_seen_and_ends()
    {
        var clock = new MovableClock();
        await using var hub = await TestHub.StartAsync(o => o with { Time = clock });
        var (token, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead", Countries: ["MX"]));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/events?metric=orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var summaries = new List<double>();
        var reading = Task.Run(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    using var summary = JsonDocument.Parse(line[6..]);
                    lock (summaries)
                    {
                        summaries.Add(summary.RootElement.GetProperty("data")[0].GetProperty("today").GetDouble());
                    }
                }
            }
        });
        await PostOrderAsync(hub, clock, "o-before");
        await WaitUntilAsync(() => { lock (summaries) { return summaries.Contains(1); } }, "the stream sent no summary with the order posted before the revocation");

        // Revoked by another process's store on the same folder (as `atalaya tokens revoke` does): the
        // server's cache is not told, and learns of it when its cached lookup is a second old.
        Assert.True(new TokenStore(HubDatabase.Open(hub.DataDirectory)).Revoke(token.Id));
        clock.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < 3; i++)
        {
            await PostOrderAsync(hub, clock, $"o-after-{i}");
        }

        // The stream checks its token before every send: no summary holds an order posted after the
        // revocation was seen, and the stream ends (a bounded wait for an outcome, not a timing).
        Assert.Same(reading, await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(30))));
        lock (summaries)
        {
            Assert.True(summaries.All(today => today <= 1), "a summary with orders posted after the revocation was sent: " + string.Join(", ", summaries));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        for (var waited = 0; waited < 30_000 && !condition(); waited += 20)
        {
            await Task.Delay(20);
        }
        Assert.True(condition(), failure);
    }

    private static async Task PostOrderAsync(TestHub hub, TimeProvider clock, string orderId)
    {
        var order = Events.Valid("purchase_completed");
        order["timestamp"] = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        order["properties"]!["order_id"] = orderId;
        using var response = await hub.PostEventsAsync(order.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
