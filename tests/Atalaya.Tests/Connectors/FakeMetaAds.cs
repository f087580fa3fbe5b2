using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// The Graph API's ad-account insights as documented: <c>GET /{version}/act_{id}/insights</c> with
/// level, time_increment, time_range, fields and limit; rows with numbers as strings and actions
/// as [{action_type, value}]; <c>paging.cursors.before/after</c> and <c>paging.next</c> only when
/// more rows follow; errors as {error: {message, type, code, error_subcode, fbtrace_id}}.
/// </summary>
public sealed class FakeMetaAds : IAsyncDisposable
{
    private FakeMetaAds(LoopbackServer server) => Server = server;

    public LoopbackServer Server { get; }

    public string Token { get; set; } = "EAAG-fake-" + Guid.NewGuid().ToString("N");

    public List<(string Account, DateOnly Day, string Campaign, double Spend, long Impressions, long Clicks, long Installs)> Rows { get; } = [];

    /// <summary>When set, the answer's list is under this name instead of "data" (a changed shape).</summary>
    public string DataMember { get; set; } = "data";

    public List<string> Versions { get; } = [];

    public static async Task<FakeMetaAds> StartAsync()
    {
        FakeMetaAds? fake = null;
        var server = await LoopbackServer.StartAsync((app, _) => app.MapGet("/{version}/{account}/insights", (HttpContext c, string version, string account) => fake!.InsightsAsync(c, version, account)));
        fake = new FakeMetaAds(server);
        return fake;
    }

    public static string Error(int code, string message, int subcode = 0, string type = "OAuthException") =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["error"] = new Dictionary<string, object> { ["message"] = message, ["type"] = type, ["code"] = code, ["error_subcode"] = subcode, ["fbtrace_id"] = "AbCdEf123" },
        });

    private async Task InsightsAsync(HttpContext context, string version, string account)
    {
        if (await Server.FaultAsync("insights", context))
        {
            return;
        }
        Versions.Add(version);
        context.Response.ContentType = "application/json; charset=UTF-8";
        if (context.Request.Headers.Authorization.ToString() != "Bearer " + Token)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync(Error(190, "Error validating access token: Session has expired on Friday, 04-Dec-26 10:00:00 PST.", 463));
            return;
        }
        var q = context.Request.Query;
        if (!account.StartsWith("act_", StringComparison.Ordinal) || q["level"] != "campaign" || q["time_increment"] != "1"
            || !q["fields"].ToString().Split(',').Contains("spend"))
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync(Error(100, "(#100) Invalid parameter", type: "GraphMethodException"));
            return;
        }
        using var range = JsonDocument.Parse(q["time_range"].ToString());
        var since = DateOnly.Parse(range.RootElement.GetProperty("since").GetString()!, CultureInfo.InvariantCulture);
        var until = DateOnly.Parse(range.RootElement.GetProperty("until").GetString()!, CultureInfo.InvariantCulture);
        var limit = int.Parse(q["limit"].ToString(), CultureInfo.InvariantCulture);
        var offset = q.TryGetValue("after", out var after) ? int.Parse(Encoding.ASCII.GetString(Convert.FromBase64String(after.ToString())), CultureInfo.InvariantCulture) : 0;
        var rows = Rows.Where(r => "act_" + r.Account == account && r.Day >= since && r.Day <= until).OrderBy(r => r.Day).ThenBy(r => r.Campaign, StringComparer.Ordinal).ToList();
        var page = rows.Skip(offset).Take(limit).Select(r =>
        {
            var row = new Dictionary<string, object>
            {
                ["campaign_id"] = r.Campaign,
                ["spend"] = r.Spend.ToString(CultureInfo.InvariantCulture),
                ["impressions"] = r.Impressions.ToString(CultureInfo.InvariantCulture),
                ["clicks"] = r.Clicks.ToString(CultureInfo.InvariantCulture),
                ["date_start"] = r.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["date_stop"] = r.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            };
            if (r.Installs > 0)
            {
                row["actions"] = new[]
                {
                    new Dictionary<string, string> { ["action_type"] = "link_click", ["value"] = r.Clicks.ToString(CultureInfo.InvariantCulture) },
                    new Dictionary<string, string> { ["action_type"] = "mobile_app_install", ["value"] = r.Installs.ToString(CultureInfo.InvariantCulture) },
                };
            }
            return row;
        }).ToList();
        var answer = new Dictionary<string, object> { [DataMember] = page };
        if (page.Count > 0)
        {
            var cursors = new Dictionary<string, string>
            {
                ["before"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(offset.ToString(CultureInfo.InvariantCulture))),
                ["after"] = Convert.ToBase64String(Encoding.ASCII.GetBytes((offset + page.Count).ToString(CultureInfo.InvariantCulture))),
            };
            var paging = new Dictionary<string, object> { ["cursors"] = cursors };
            if (offset + page.Count < rows.Count)
            {
                paging["next"] = $"{Server.Url}/{version}/{account}/insights?after={Uri.EscapeDataString(cursors["after"])}";
            }
            answer["paging"] = paging;
        }
        await context.Response.WriteAsync(JsonSerializer.Serialize(answer));
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
