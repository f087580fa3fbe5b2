using System.Security.Cryptography;
using Atalaya.Engine.Access;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Access;

/// <summary>
/// One generated marketplace (12 days ending on the hub's today, so the summary, the time series and the
/// event stream have data; the hub's clock is pinned to 2026-03-15 11:00 UTC and runs from there, so
/// the generated requests and their answers do not depend on the day the test runs) behind a real hub, and a caller of every kind: an admin, an analyst, country
/// leads (one country; a country narrowed to a hub; two countries; a country narrowed to a zone),
/// vendors (one store; two stores in two countries), a write key, a revoked token, an unknown token
/// and no token at all. Scopes are picked from the stored store_created events, so they name real
/// countries, hubs, zones and stores.
/// </summary>
public class AccessHubFixture : IAsyncLifetime
{
    /// <summary>The hub's "now" when the fixture starts: any fixed instant works; this one is mid-month and mid-week.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 15, 11, 0, 0, TimeSpan.Zero);

    /// <summary>The embedded hub that stored the generated marketplace (the reference's data).</summary>
    public KpiHub Hub { get; private set; } = null!;

    /// <summary>The hub the callers ask and hold tokens of: the embedded hub, or a cluster node (<see cref="ServeAsync"/>).</summary>
    public TestHub Serving { get; private set; } = null!;

    /// <summary>The hub's clock: <see cref="Start"/> when the fixture starts, then running.</summary>
    public MovableClock Clock { get; } = new();

    public ReferenceData Reference => Hub.Reference;

    /// <summary>Each store's dimensions, from its latest stored store_created.</summary>
    public IReadOnlyDictionary<string, Dimensions> Stores { get; private set; } = null!;

    public IReadOnlyList<Caller> Callers { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Clock.Advance(Start - Clock.GetUtcNow());
        Hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 12, Seed: 21, SessionsPerDay: 100, EndDate: DateOnly.FromDateTime(Start.UtcDateTime)),
            o => o with { Time = Clock });
        Stores = Reference.AllEvents
            .Where(e => e.Type == "store_created" && e.Text("store_id") is not null)
            .GroupBy(e => e.Text("store_id")!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Seq).Last().Dimensions, StringComparer.Ordinal);

        var byCountry = Stores.OrderBy(s => s.Key, StringComparer.Ordinal).GroupBy(s => s.Value.Country!).ToDictionary(g => g.Key, g => g.ToList());
        // The vendor of one store sells in the largest group of comparable stores, so its benchmark can show peers.
        var largestGroup = Stores.GroupBy(s => (s.Value.Country, s.Value.Category)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Country, StringComparer.Ordinal).First();
        var coHub = byCountry["CO"].GroupBy(s => s.Value.Hub!).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        var seZone = byCountry["SE"][0].Value.Zone!;

        var scopes = new[]
        {
            TokenScope.Admin("admin"),
            TokenScope.Analyst("analyst"),
            TokenScope.Lead("lead-mx", ["MX"]),
            TokenScope.Lead("lead-co-hub", ["CO"], hubs: [coHub]),
            TokenScope.Lead("lead-mx-cl", ["MX", "CL"]),
            TokenScope.Lead("lead-se-zone", ["SE"], zones: [seZone]),
            TokenScope.Vendor("vendor-one", largestGroup.OrderBy(s => s.Key, StringComparer.Ordinal).First().Key),
            TokenScope.Vendor("vendor-two", byCountry["CO"][1].Key, byCountry["CL"][0].Key),
        };
        Serving = await ServeAsync(Hub);
        var tokens = Serving.Hub.Tokens;
        var callers = scopes.Select(scope => new Caller(scope.Name, CallerKind.Reader, Create(tokens, scope), scope)).ToList();
        var (revoked, revokedSecret) = tokens.Create(new TokenRequest(Role.Analyst, "revoked"));
        tokens.Revoke(revoked.Id);
        callers.Add(new Caller("write-key", CallerKind.WriteKey, Serving.WriteKey, null));
        callers.Add(new Caller("revoked", CallerKind.Revoked, revokedSecret, null));
        callers.Add(new Caller("unknown", CallerKind.Unknown, "atl_admin_" + RandomNumberGenerator.GetHexString(43), null));
        callers.Add(new Caller("no-token", CallerKind.Missing, null, null));
        Callers = callers;
    }

    private static string Create(TokenStore tokens, TokenScope scope)
    {
        Roles.TryParse(scope.Role, out var role);
        return tokens.Create(new TokenRequest(role, scope.Name, scope.Countries, scope.Hubs, scope.Zones, scope.Stores)).Secret;
    }

    /// <summary>The hub that answers the callers, started once the marketplace is stored in <paramref name="embedded"/>; the embedded hub itself here.</summary>
    protected virtual Task<TestHub> ServeAsync(KpiHub embedded) => Task.FromResult(embedded.Server);

    public virtual async Task DisposeAsync() => await Hub.DisposeAsync();
}
