using System.Security.Cryptography;
using System.Text;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The token store's behaviour, asserted the same way on both places its rows can live: the data
/// folder's SQLite database and a cluster's PostgreSQL. Two stores on one backing play the server
/// and another process (the CLI, another node); a clock the test sets moves the one-second cache.
/// </summary>
public sealed class TokenStoreConformanceTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "atalaya-tokens-" + Guid.NewGuid().ToString("N"));
    private readonly List<PostgresState> _opened = [];
    private string _postgres = "";

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    public async Task InitializeAsync() => _postgres = await server.NewDatabaseAsync();

    public Task DisposeAsync()
    {
        _opened.ForEach(s => s.Dispose());
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_created_token_authenticates_and_lists_with_its_scope_and_only_its_hash_is_stored(string backend)
    {
        var clock = new SetClock();
        var server = Store(backend, clock);
        var (lead, leadSecret) = server.Create(new TokenRequest(Role.CountryOpsLead, "lead", Countries: ["mx", " co "], Hubs: ["cdmx-norte"]));
        var (vendor, vendorSecret) = server.Create(new TokenRequest(Role.Vendor, Stores: ["st-1", "st-2"], ExpiresAt: clock.Now.AddDays(30)));
        clock.Now = clock.Now.AddMilliseconds(1);
        var (write, writeSecret) = server.Create(new TokenRequest(Role.Write, "web key"));

        Assert.Equal(["MX", "CO"], lead.Countries);
        Assert.Equal("default", write.Source);
        Assert.StartsWith("atl_countryopslead_", leadSecret, StringComparison.Ordinal);
        Assert.Equal(Shape(lead), Shape(server.Authenticate(leadSecret)));
        Assert.Equal(Shape(vendor), Shape(server.Authenticate(vendorSecret)));
        Assert.Equal(Shape(write), Shape(server.Authenticate(writeSecret)));

        // Another process reads the same rows: every field as created, oldest first.
        var listed = Store(backend, clock).List();
        Assert.Equal(new[] { lead.Id, vendor.Id }.Order(StringComparer.Ordinal), listed.Take(2).Select(t => t.Id)); // same millisecond: by id
        Assert.Equal(write.Id, listed[2].Id);
        Assert.Equal(Shape(lead), Shape(listed.Single(t => t.Id == lead.Id)));
        Assert.Equal(Shape(vendor), Shape(listed.Single(t => t.Id == vendor.Id)));
        Assert.Equal(["st-1", "st-2"], listed.Single(t => t.Id == vendor.Id).Stores);

        var stored = await StoredHashesAsync(backend);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(leadSecret)), stored[lead.Id]);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(writeSecret)), stored[write.Id]);
        Assert.Equal(3, stored.Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_revocation_made_elsewhere_is_seen_once_the_cached_lookup_is_a_second_old_and_at_once_when_made_here(string backend)
    {
        var clock = new SetClock();
        var node = Store(backend, clock);
        var elsewhere = Store(backend, clock);
        var (token, secret) = elsewhere.Create(new TokenRequest(Role.Analyst, "analyst"));
        Assert.Equal(token.Id, node.Authenticate(secret)?.Id); // the node's cache is warm

        Assert.True(elsewhere.Revoke(token.Id));
        Assert.False(elsewhere.Revoke(token.Id)); // no longer active
        Assert.False(elsewhere.Revoke("tok_000000000000"));
        clock.Now = clock.Now.AddSeconds(1);
        Assert.Equal(token.Id, node.Authenticate(secret)?.Id); // a second old: still the cached answer
        clock.Now = clock.Now.AddMilliseconds(1);
        Assert.Null(node.Authenticate(secret));
        Assert.True(Store(backend, clock).List().Single().IsRevoked);

        var (other, otherSecret) = elsewhere.Create(new TokenRequest(Role.Admin));
        Assert.Equal(other.Id, node.Authenticate(otherSecret)?.Id);
        Assert.True(node.Revoke(other.Id));
        Assert.Null(node.Authenticate(otherSecret)); // revoked here: the cache is dropped
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Unknown_malformed_and_expired_secrets_are_refused(string backend)
    {
        var clock = new SetClock();
        var store = Store(backend, clock);
        var (_, secret) = store.Create(new TokenRequest(Role.Admin, ExpiresAt: clock.Now.AddHours(1)));
        Assert.NotNull(store.Authenticate(secret));
        Assert.Null(store.Authenticate(secret[..^1] + (secret[^1] == 'a' ? 'b' : 'a')));
        Assert.Null(store.Authenticate(secret[4..]));
        Assert.Null(store.Authenticate(""));
        Assert.Null(store.Authenticate(null));
        clock.Now = clock.Now.AddHours(1);
        Assert.Null(store.Authenticate(secret));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Last_used_times_are_written_by_the_flush_and_never_moved_back_by_a_process_with_an_older_one(string backend)
    {
        var clock = new SetClock();
        var node = Store(backend, clock);
        var (token, secret) = node.Create(new TokenRequest(Role.Vendor, Stores: ["st-9"]));
        node.FlushLastUsed(); // nothing to write
        Assert.Null(node.List().Single().LastUsedAt);

        var earlier = clock.Now;
        var lagging = Store(backend, new SetClock { Now = earlier });
        clock.Now = clock.Now.AddMinutes(5);
        Assert.NotNull(node.Authenticate(secret));
        node.FlushLastUsed();
        Assert.Equal(clock.Now, node.List().Single().LastUsedAt);

        Assert.NotNull(lagging.Authenticate(secret));
        lagging.FlushLastUsed();
        Assert.Equal(clock.Now, Store(backend, clock).List().Single(t => t.Id == token.Id).LastUsedAt);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_request_that_cannot_be_right_is_refused_by_field_and_stores_nothing(string backend)
    {
        var store = Store(backend, new SetClock());
        Assert.Equal("stores", Assert.Throws<TokenRequestException>(() => store.Create(new TokenRequest(Role.Vendor))).Field);
        Assert.Equal("countries", Assert.Throws<TokenRequestException>(() => store.Create(new TokenRequest(Role.CountryOpsLead, Countries: ["mexico"]))).Field);
        Assert.Equal("source", Assert.Throws<TokenRequestException>(() => store.Create(new TokenRequest(Role.Write, Source: "no spaces"))).Field);
        Assert.Empty(store.List());
    }

    private TokenStore Store(string backend, TimeProvider clock)
    {
        if (backend == "sqlite")
        {
            return new TokenStore(HubDatabase.Open(_folder), clock);
        }
        var state = PostgresState.Open(_postgres);
        _opened.Add(state);
        return new TokenStore(state, clock);
    }

    /// <summary>Every field of a token, lists by their items (a record compares lists by reference).</summary>
    private static string Shape(TokenInfo? token) => System.Text.Json.JsonSerializer.Serialize(token);

    /// <summary>The secret_hash column by token id, read straight from the backing database.</summary>
    private async Task<Dictionary<string, byte[]>> StoredHashesAsync(string backend)
    {
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (backend == "sqlite")
        {
            using var connection = HubDatabase.Open(_folder).Connect();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id, secret_hash FROM tokens;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                hashes[reader.GetString(0)] = (byte[])reader.GetValue(1);
            }
            return hashes;
        }
        var ids = await PostgresServer.ColumnAsync(_postgres, "SELECT id FROM tokens ORDER BY id");
        var values = await PostgresServer.ColumnAsync(_postgres, "SELECT secret_hash FROM tokens ORDER BY id");
        for (var i = 0; i < ids.Count; i++)
        {
            hashes[(string)ids[i]!] = (byte[])values[i]!;
        }
        return hashes;
    }

    /// <summary>A clock that stands still until the test moves it (unix-millisecond aligned, as stored times are).</summary>
    private sealed class SetClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
