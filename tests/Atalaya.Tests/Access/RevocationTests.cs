using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Atalaya.Engine.Access;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Access;

/// <summary>A revoked token stops working on the running server within a second, whoever revokes it: the API or the command line.</summary>
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
    public async Task A_token_revoked_by_the_command_line_on_the_same_folder_is_refused_by_the_running_server_within_a_second()
    {
        await using var hub = await TestHub.StartAsync();
        var (token, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.Vendor, "vendor", Stores: ["st-1"]));
        // Keep the server's token cache warm, the worst case for a revocation made elsewhere.
        using var stop = new CancellationTokenSource();
        var warm = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await AccessHttp.GetAsync(hub.Client, Read, secret);
                await Task.Delay(20);
            }
        });
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, Read, secret)).Status);

        var (exitCode, stdout, stderr) = await AtalayaProcess.RunAsync("tokens", "revoke", token.Id, "--data", hub.DataDirectory);
        var revoked = Stopwatch.StartNew();
        await stop.CancelAsync();
        await warm;

        Assert.True(exitCode == 0, $"tokens revoke exited {exitCode}: {stdout} {stderr}");
        var answers = new List<(TimeSpan SentAt, HttpStatusCode Status)>();
        while (revoked.Elapsed < TimeSpan.FromSeconds(1.6))
        {
            var sentAt = revoked.Elapsed;
            answers.Add((sentAt, (await AccessHttp.GetAsync(hub.Client, Read, secret)).Status));
            await Task.Delay(25);
        }
        var late = answers.Where(a => a.SentAt >= TimeSpan.FromSeconds(1)).ToList();
        Assert.NotEmpty(late);
        Assert.True(late.All(a => a.Status == HttpStatusCode.Unauthorized),
            "answers to requests sent a second or more after the revocation: " + string.Join(", ", late.Select(a => $"{a.SentAt.TotalMilliseconds:F0} ms → {(int)a.Status}")));
        Assert.Contains(hub.Hub.Tokens.List(), t => t.Id == token.Id && t.IsRevoked);
    }

    [Fact]
    public async Task An_open_event_stream_of_a_token_revoked_elsewhere_sends_nothing_a_second_after_the_revocation_and_ends()
    {
        await using var hub = await TestHub.StartAsync();
        var (token, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead", Countries: ["MX"]));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/events?metric=orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var summaries = new List<TimeSpan>();
        var clock = Stopwatch.StartNew();
        var ended = TimeSpan.MaxValue;
        var reading = Task.Run(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    lock (summaries)
                    {
                        summaries.Add(clock.Elapsed);
                    }
                }
            }
            ended = clock.Elapsed;
        });
        await PostOrderAsync(hub, "o-before");
        await Task.Delay(1200);

        // Revoked by another process's store on the same folder (as `atalaya tokens revoke` does): the server's cache is not told.
        Assert.True(new TokenStore(HubDatabase.Open(hub.DataDirectory)).Revoke(token.Id));
        var revokedAt = clock.Elapsed;
        for (var i = 0; i < 12; i++)
        {
            await PostOrderAsync(hub, $"o-after-{i}");
            await Task.Delay(200);
        }
        await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(3)));

        List<TimeSpan> late;
        lock (summaries)
        {
            Assert.True(summaries.Count(t => t < revokedAt) >= 2, "the stream sent no summary for the order posted before the revocation");
            // A second, plus half a second for the delivery of a summary sent just before it on a busy machine.
            late = [.. summaries.Where(t => t > revokedAt + TimeSpan.FromSeconds(1.5))];
        }
        Assert.True(late.Count == 0, $"{late.Count} summaries sent more than a second after the revocation, the last {(late.LastOrDefault() - revokedAt).TotalMilliseconds:F0} ms after it");
        Assert.True(reading.IsCompleted, "the stream is still open 5 s after its token was revoked");
        Assert.True(ended - revokedAt < TimeSpan.FromSeconds(3), $"the stream ended {(ended - revokedAt).TotalMilliseconds:F0} ms after the revocation");
    }

    private static async Task PostOrderAsync(TestHub hub, string orderId)
    {
        var order = Events.Valid("purchase_completed");
        order["timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        order["properties"]!["order_id"] = orderId;
        using var response = await hub.PostEventsAsync(order.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
