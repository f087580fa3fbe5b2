using System.Net;
using System.Text.RegularExpressions;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Dashboard;

/// <summary>The dashboards' files over plain HTTP: embedded, self-contained, cacheable, compressed.</summary>
public sealed partial class DashboardAssetsTests
{
    [Fact]
    public async Task The_login_page_and_every_file_it_loads_come_from_the_hub_with_a_strict_content_security_policy()
    {
        await using var hub = await TestHub.StartAsync();

        using var page = await hub.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("id=\"token\"", html, StringComparison.Ordinal);

        // Every file the page and its modules name is served; none lives elsewhere.
        var pending = new Queue<string>(LocalReferences().Matches(html).Select(m => m.Groups["path"].Value));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var path))
        {
            if (!seen.Add(path))
            {
                continue;
            }
            using var response = await hub.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            if (path.EndsWith(".js", StringComparison.Ordinal) && !path.Contains("/vendor/", StringComparison.Ordinal))
            {
                var script = await response.Content.ReadAsStringAsync();
                Assert.DoesNotMatch("https?://", script);
                foreach (Match import in ModuleImports().Matches(script))
                {
                    pending.Enqueue("/dashboard/js/" + import.Groups["file"].Value);
                }
            }
        }
        Assert.Contains("/dashboard/vendor/echarts.min.js", seen);
        Assert.Contains("/dashboard/js/views.js", seen);
        Assert.DoesNotMatch("(src|href)=\"https?://", html);
    }

    [Fact]
    public async Task Files_answer_304_to_their_etag_gzip_when_asked_and_404_when_unknown()
    {
        await using var hub = await TestHub.StartAsync();

        using var first = await hub.Client.GetAsync("/dashboard/vendor/echarts.min.js");
        var etag = first.Headers.ETag!;
        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/vendor/echarts.min.js");
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await hub.Client.SendAsync(again)).StatusCode);

        using var gzip = new HttpRequestMessage(HttpMethod.Get, "/dashboard/vendor/echarts.min.js");
        gzip.Headers.AcceptEncoding.ParseAdd("gzip");
        using var compressed = await hub.Client.SendAsync(gzip);
        Assert.Equal("gzip", compressed.Content.Headers.ContentEncoding.Single());
        Assert.True((await compressed.Content.ReadAsByteArrayAsync()).Length < (await first.Content.ReadAsByteArrayAsync()).Length / 2);

        Assert.Equal(HttpStatusCode.NotFound, (await hub.Client.GetAsync("/dashboard/nope.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Client.GetAsync("/dashboard/../Atalaya.dll")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.GetAsync("/dashboard/vendor/LICENSE-echarts.txt")).StatusCode);
    }

    [GeneratedRegex("(?:src|href)=\"(?<path>/dashboard/[^\"]+)\"")]
    private static partial Regex LocalReferences();

    [GeneratedRegex(@"from '\./(?<file>[a-z]+\.js)'")]
    private static partial Regex ModuleImports();
}
