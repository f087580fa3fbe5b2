using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Atalaya.Tests.Kpi.Reference;
using Xunit.Abstractions;

namespace Atalaya.Tests.Access;

/// <summary>
/// The access rules as a property: 1,200 generated (token, request) pairs with a fixed seed, over
/// every GET endpoint that <c>/openapi/v1.json</c> lists (read at run time, so a new endpoint is
/// exercised without touching this test; only the health probes are left out), every filter and
/// group_by dimension, tokens of every role and scope, inside and outside their scope. Each answer
/// is judged by <see cref="ScopeOracle"/>: exact status, no store the token may not see, and the
/// reference's answer over the visible data only.
/// </summary>
public sealed class ScopeRandomizedTests(AccessHubFixture hub, ITestOutputHelper output) : ScopeRandomizedTestsBase(hub, output), IClassFixture<AccessHubFixture>;

/// <summary>
/// The property itself, run by <see cref="ScopeRandomizedTests"/> on the embedded hub and by
/// Cluster/ClusterScopeTests on a cluster node that loaded the same marketplace from ClickHouse.
/// </summary>
public abstract class ScopeRandomizedTestsBase(AccessHubFixture hub, ITestOutputHelper output)
{
    private const int Seed = 20260301;
    private const int Pairs = 1200;
    // /api/recommendations is a storefront endpoint (write keys may call it, product_id is required):
    // its access rules are checked by Recommendations/RecommendationApiTests.
    // /api/privacy/export is admin-only personal data, not a scoped read: Privacy/ErasureTests checks its roles.
    private static readonly string[] NotReadEndpoints = ["/healthz", "/readyz", "/api/recommendations", "/api/privacy/export"];

    [Fact]
    public async Task Every_endpoint_answers_every_token_exactly_its_scope_and_nothing_outside_it()
    {
        var endpoints = await GetEndpointsAsync();
        var admin = hub.Callers.Single(c => c.Name == "admin");
        var definitions = await DefinitionsAsync(admin.Secret!);
        var oracle = new ScopeOracle(hub, definitions);
        var generator = new ScopeRequestGenerator(Seed, hub, hub.Serving.Hub.Kpis.Time);
        var random = new Random(Seed);
        var readers = hub.Callers.Where(c => c.Kind == CallerKind.Reader).ToArray();
        var others = hub.Callers.Where(c => c.Kind != CallerKind.Reader).ToArray();
        // The KPI query has the most parameters; it gets three shares.
        var paths = endpoints.Keys.Order(StringComparer.Ordinal).SelectMany(p => p == "/api/kpi/query" ? [p, p, p] : new[] { p }).ToArray();

        var failures = new List<string>();
        var outcomes = new List<(ScopeRequest Request, ScopeOracle.Outcome Outcome)>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Pairs; i++)
        {
            var caller = random.Next(6) == 0 ? others[random.Next(others.Length)] : readers[random.Next(readers.Length)];
            var path = paths[random.Next(paths.Length)];
            var request = generator.Next(caller, path, endpoints[path]);
            var outcome = await oracle.CheckAsync(request);
            outcomes.Add((request, outcome));
            if (outcome.Difference is { } difference)
            {
                failures.Add($"#{i} token {caller}\n  request GET {request.PathAndQuery}\n  {difference}");
            }
        }
        // Whether peers show depends on the data of the day the test runs; two fixed vendor benchmarks make sure both cases are judged.
        var vendor = hub.Callers.First(c => c.Scope?.Role == "vendor");
        var today = DateOnly.FromDateTime(hub.Clock.GetUtcNow().UtcDateTime);
        foreach (var (metric, start, end) in new[] { ("gmv", today.AddDays(-11), today), ("orders", today.AddDays(-40), today.AddDays(-35)) })
        {
            var request = new ScopeRequest(vendor, "/api/kpi/benchmark",
            [
                new("metric", metric), new("start_date", start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                new("end_date", end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), new("tz", "UTC"),
            ]);
            var outcome = await oracle.CheckAsync(request);
            outcomes.Add((request, outcome));
            if (outcome.Difference is { } difference)
            {
                failures.Add($"fixed benchmark: token {vendor}\n  request GET {request.PathAndQuery}\n  {difference}");
            }
        }
        output.WriteLine($"{Pairs} pairs in {clock.Elapsed.TotalSeconds:F1} s; statuses: "
            + string.Join(", ", outcomes.GroupBy(o => o.Outcome.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}")));
        foreach (var group in outcomes.GroupBy(o => o.Request.Path).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {group.Key}: " + string.Join(", ", group.GroupBy(o => o.Outcome.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}")));
        }
        foreach (var path in endpoints.Keys.Where(p => !ScopeOracle.WithOracle.Contains(p)))
        {
            output.WriteLine($"  {path} has no endpoint-specific oracle: checked for status and leaks only");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {outcomes.Count} answers break the access rules; the first ones:\n" + string.Join("\n", failures.Take(8)));
        AssertCoverage(endpoints, outcomes);
    }

    /// <summary>The generator reached what the test claims to cover; a change that narrows it fails here.</summary>
    private static void AssertCoverage(Dictionary<string, string[]> endpoints, List<(ScopeRequest Request, ScopeOracle.Outcome Outcome)> outcomes)
    {
        foreach (var path in endpoints.Keys)
        {
            Assert.True(outcomes.Count(o => o.Request.Path == path) >= 20, $"{path} was asked fewer than 20 times");
            var statuses = outcomes.Where(o => o.Request.Path == path).Select(o => o.Outcome.Status).ToHashSet();
            Assert.True(statuses.IsSupersetOf([200, 401, 403]), $"{path} answered only {string.Join(", ", statuses)}");
        }
        foreach (var caller in outcomes.Select(o => o.Request.Caller).Distinct().Where(c => c.Scope is { SeesEverything: false }))
        {
            var statuses = outcomes.Where(o => o.Request.Caller == caller).Select(o => o.Outcome.Status).ToHashSet();
            Assert.True(statuses.IsSupersetOf([200, 403]), $"{caller} never got both an answer and a 403");
        }
        var filtered = outcomes.Where(o => o.Request.Caller.Scope is { SeesEverything: false } && o.Outcome.Status == 200).Select(o => o.Request).ToList();
        foreach (var dimension in Dimensions.Names)
        {
            Assert.True(filtered.Any(r => r.Get(dimension) is not null), $"no answered scoped request filtered on {dimension}");
            Assert.True(filtered.Any(r => r.List("group_by")?.Contains(dimension) == true), $"no answered scoped request grouped by {dimension}");
        }
        var benchmarks = outcomes.Where(o => o.Outcome.PeersShown is not null).ToList();
        Assert.Contains(benchmarks, o => o.Outcome.PeersShown == true && o.Request.Caller.Scope?.Role == "vendor");
        Assert.Contains(benchmarks, o => o.Outcome.PeersShown == false);
    }

    /// <summary>The GET endpoints of the OpenAPI document with the query parameters each declares.</summary>
    private async Task<Dictionary<string, string[]>> GetEndpointsAsync()
    {
        using var document = JsonDocument.Parse(await hub.Serving.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var endpoints = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            if (path.Value.TryGetProperty("get", out var get) && !NotReadEndpoints.Contains(path.Name) && !path.Name.Contains('{', StringComparison.Ordinal))
            {
                endpoints[path.Name] = get.TryGetProperty("parameters", out var parameters)
                    ? [.. parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!)]
                    : [];
            }
        }
        Assert.Contains("/api/kpi/query", endpoints.Keys);
        return endpoints;
    }

    private async Task<string> DefinitionsAsync(string admin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/definitions");
        request.Headers.Authorization = new("Bearer", admin);
        using var response = await hub.Serving.Client.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
