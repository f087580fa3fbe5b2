using System.Net;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cli;

/// <summary>The command line (docs/cli.md), run as the real executable.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "atalaya-cli-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData("serve")]
    [InlineData("tokens")]
    [InlineData("tokens", "create")]
    [InlineData("tokens", "list")]
    [InlineData("tokens", "revoke")]
    [InlineData("demo")]
    [InlineData("import")]
    [InlineData("fx", "import")]
    [InlineData("fx", "list")]
    public async Task Every_command_explains_itself_with_help(params string[] command)
    {
        var (code, stdout, _) = await AtalayaProcess.RunAsync([.. command, "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", stdout);
        Assert.Contains("Options:", stdout);
    }

    [Fact]
    public async Task Tokens_create_prints_the_token_alone_on_the_last_line_and_list_never_shows_it()
    {
        var (code, stdout, _) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "vendor", "--store", "st-1,st-2", "--name", "Taquería", "--data", _data);
        Assert.Equal(0, code);
        var token = stdout.TrimEnd().Split('\n')[^1];
        Assert.Matches("^atl_vendor_[0-9A-Za-z]{43}$", token);

        var (_, list, _) = await AtalayaProcess.RunAsync("tokens", "list", "--data", _data);
        Assert.Contains("vendor", list);
        Assert.Contains("store=st-1,st-2", list);
        Assert.DoesNotContain(token, list);
        Assert.DoesNotContain(token[11..], File.ReadAllText(Path.Combine(_data, "atalaya.db")));
    }

    [Theory]
    [InlineData("--role", "owner", "--role must be one of admin, analyst, country_ops_lead, vendor, write")]
    [InlineData("--role", "vendor", "--store: a vendor token needs the vendor's store ids")]
    [InlineData("--role", "country_ops_lead", "--country: a country_ops_lead token needs its country codes")]
    public async Task Tokens_create_refuses_an_incomplete_request_with_a_clear_error(string option, string role, string expected)
    {
        var (code, stdout, stderr) = await AtalayaProcess.RunAsync("tokens", "create", option, role, "--data", _data);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("atl_", stdout);
    }

    [Fact]
    public async Task Tokens_revoke_from_the_cli_stops_a_running_server_accepting_the_key_once_its_one_second_cache_expires()
    {
        var clock = new MovableClock();
        await using var hub = await TestHub.StartAsync(o => o with { Time = clock }, dataDirectory: _data);
        var (_, stdout, _) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "write", "--source", "cli", "--data", _data);
        var key = stdout.TrimEnd().Split('\n')[^1];
        Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), key: key)).StatusCode);
        var id = hub.Hub.Tokens.List().Single(t => t.Source == "cli").Id;

        var (code, _, _) = await AtalayaProcess.RunAsync("tokens", "revoke", id, "--data", _data);
        Assert.Equal(0, code);
        // The server learns of a revocation made by another process when its cached lookup is a
        // second old: move its clock past that instead of timing real requests on a busy machine.
        clock.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), key: key)).StatusCode);

        var (again, _, stderr) = await AtalayaProcess.RunAsync("tokens", "revoke", id, "--data", _data);
        Assert.Equal(2, again);
        Assert.Contains("no active token", stderr);
    }

    [Fact]
    public async Task Import_loads_ndjson_through_validation_and_dedupe()
    {
        Directory.CreateDirectory(_data);
        var file = Path.Combine(_data, "events.ndjson");
        var bad = Events.Valid("add_to_cart", "imp-bad");
        bad["properties"]!["quantity"] = 0;
        File.WriteAllLines(file, [
            Events.Valid("store_created", "imp-store").ToJsonString(),
            Events.Valid("page_view", "imp-1").ToJsonString(),
            "",
            bad.ToJsonString(),
            "{not json",
            Events.Valid("page_view", "imp-1").ToJsonString(),
        ]);
        var (code, stdout, _) = await AtalayaProcess.RunAsync("import", file, "--data", _data);
        Assert.Equal(0, code);
        Assert.Contains("Imported 2 events (1 duplicates skipped, 2 rejected)", stdout);
        Assert.Contains("line 3: properties.quantity: must be at least 1, got 0", stdout);
        Assert.Contains("line 4: line 4: invalid JSON", stdout);
        Assert.Equal(2, StoredEvents.Count(_data));

        var (_, second, _) = await AtalayaProcess.RunAsync("import", file, "--data", _data);
        Assert.Contains("Imported 0 events (3 duplicates skipped, 2 rejected)", second);
        Assert.Equal(2, StoredEvents.Count(_data));

        var (missing, _, stderr) = await AtalayaProcess.RunAsync("import", Path.Combine(_data, "nope.ndjson"), "--data", _data);
        Assert.Equal(2, missing);
        Assert.Contains("no such file", stderr);
    }

    [Fact]
    public async Task Fx_import_loads_a_rate_table_the_collector_then_freezes_into_events()
    {
        Directory.CreateDirectory(_data);
        var rates = Path.Combine(_data, "rates.csv");
        File.WriteAllLines(rates, ["day,currency,rate", "2026-02-28,MXN,0.0575", "2026-03-01,MXN,0.0581", "2026-03-01,COP,0.00025"]);
        var (code, stdout, _) = await AtalayaProcess.RunAsync("fx", "import", rates, "--data", _data);
        Assert.Equal(0, code);
        Assert.Contains("Imported 3 rates for 2 currencies.", stdout);
        var (_, list, _) = await AtalayaProcess.RunAsync("fx", "list", "--data", _data);
        Assert.Contains("0.0581", list);

        await using var hub = await TestHub.StartAsync(dataDirectory: _data);
        await hub.PostEventsAsync(Events.Valid("payment_succeeded", "fx-1").ToJsonString());
        var stored = StoredEvents.Single(_data, "fx-1");
        Assert.Equal(0.0581m, stored.GetProperty("fx_rate_to_reporting").GetDecimal());
        Assert.Equal("table", stored.GetProperty("fx_source").GetString());
    }

    [Fact]
    public async Task Fx_import_refuses_a_file_with_any_bad_line_and_imports_nothing()
    {
        Directory.CreateDirectory(_data);
        var rates = Path.Combine(_data, "bad.csv");
        File.WriteAllLines(rates, ["2026-03-01,MXN,0.0581", "03/01/2026,MXN,0.05", "2026-03-02,pesos,0.05", "2026-03-03,MXN,-1", "2026-03-04,MXN"]);
        var (code, _, stderr) = await AtalayaProcess.RunAsync("fx", "import", rates, "--data", _data);
        Assert.Equal(2, code);
        Assert.Contains("line 2: day must be yyyy-MM-dd", stderr);
        Assert.Contains("line 3: currency must be an ISO 4217 code", stderr);
        Assert.Contains("line 4: rate must be a number > 0", stderr);
        Assert.Contains("line 5: expected day,currency,rate", stderr);
        Assert.Contains("nothing was imported", stderr);
        Assert.False(File.Exists(Path.Combine(_data, "atalaya.db")), "a refused import must not even create the database");
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
