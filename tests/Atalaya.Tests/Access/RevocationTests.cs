using System.Diagnostics;
using System.Net;
using Atalaya.Engine.Access;
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
}
