using System.Net;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cli;

/// <summary>
/// What a newcomer meets when a command is mistyped: one plain sentence per problem naming the
/// option and what it accepts (never a .NET type name, a stack trace or the whole help page), exit
/// code 2, and values that cannot be right refused instead of stored.
/// </summary>
public sealed class CliErrorTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "atalaya-cli-errors-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Theory]
    [InlineData("frobnicate", "error: 'frobnicate' is not a command of 'atalaya'; the commands are: serve, tokens")]
    [InlineData("serve --demo-days abc", "error: --demo-days: 'abc' is not a whole number.")]
    [InlineData("serve --demo --demo-days -5", "error: --demo-days must be between 1 and 3650, got -5.")]
    [InlineData("serve --log-format xml", "error: --log-format: 'xml' is not allowed; use one of: text, json.")]
    [InlineData("tokens", "error: 'atalaya tokens' needs a command: create, list, revoke.")]
    [InlineData("tokens create", "error: --role is required.")]
    [InlineData("tokens create --role admin --colour red", "error: '--colour' is not an option or argument of 'atalaya tokens create'.")]
    [InlineData("jobs run", "error: 'atalaya jobs run' needs its NAME argument.")]
    [InlineData("tokens create --role country_ops_lead --country mexico", "error: --country: 'mexico' is not an ISO 3166-1 alpha-2 country code")]
    [InlineData("tokens create --role vendor --store st-1 --country MX", "error: --country: a vendor token is scoped by its stores only")]
    [InlineData("tokens create --role analyst --store st-1", "error: --store: only vendor tokens are scoped by store")]
    [InlineData("tokens create --role admin --expires soon", "error: --expires: 'soon' is neither a duration like 90d or 12h nor a date")]
    [InlineData("tokens create --role admin --expires 2020-01-01", "error: --expires: 2020-01-01 00:00:00Z is not in the future.")]
    public async Task A_mistake_is_one_plain_sentence_naming_the_option_and_exit_code_2(string commandLine, string expected)
    {
        var (code, stdout, stderr) = await RunAsync(commandLine.Split(' '));

        Assert.Equal(2, code);
        Assert.StartsWith(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Required command was not provided", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Description:", stdout + stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n'), line => line.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Empty(new TokenStore(Engine.Storage.HubDatabase.Open(_data)).List());
    }

    /// <summary>The data folder comes from ATALAYA_DATA, so that commands without --data are tried as typed.</summary>
    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        var info = AtalayaProcess.StartInfo(args);
        info.Environment["ATALAYA_DATA"] = _data;
        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_store_no_event_registered_is_allowed_with_a_warning_and_lowercase_countries_are_codes()
    {
        var (code, stdout, stderr) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "vendor", "--store", "st-nowhere", "--data", _data);
        Assert.Equal(0, code);
        Assert.Contains("warning: store 'st-nowhere' is not registered yet", stderr);
        Assert.StartsWith("atl_vendor_", stdout.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);

        (code, _, _) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "country_ops_lead", "--country", "mx, co", "--data", _data);
        Assert.Equal(0, code);
        Assert.Contains(new TokenStore(Engine.Storage.HubDatabase.Open(_data)).List(), t => t.Countries.SequenceEqual(["MX", "CO"]));
    }

    [Fact]
    public async Task Output_into_a_file_or_pipe_carries_no_terminal_escape_codes()
    {
        var file = Path.Combine(Path.GetTempPath(), "atalaya-cli-" + Guid.NewGuid().ToString("N") + ".ndjson");
        try
        {
            Assert.Equal(0, (await AtalayaProcess.RunAsync("demo", "--days", "1", "--out", file)).ExitCode);
            var (import, importOut, importErr) = await AtalayaProcess.RunAsync("import", file, "--data", _data);
            var (list, listOut, listErr) = await AtalayaProcess.RunAsync("tokens", "list", "--data", _data);

            Assert.Equal((0, 0), (import, list));
            Assert.Contains("Imported", importOut);
            Assert.DoesNotContain('\u001b', importOut + importErr + listOut + listErr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Dotnet_run_from_any_folder_uses_that_folders_data_not_the_projects()
    {
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-cwd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var project = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/Atalaya"));
        var projectData = Path.Combine(project, "data");
        var existedBefore = Directory.Exists(projectData);
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                WorkingDirectory = folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in new[] { "run", "-c", "Release", "--no-build", "--project", project, "--", "tokens", "create", "--role", "admin" })
            {
                info.ArgumentList.Add(arg);
            }
            using var process = System.Diagnostics.Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
            Assert.True(process.ExitCode == 0, await stdout + await stderr);

            Assert.Single(new TokenStore(Engine.Storage.HubDatabase.Open(Path.Combine(folder, "data"))).List());
            Assert.Equal(existedBefore, Directory.Exists(projectData));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Tokens_may_expire_and_the_api_names_json_fields_not_command_line_options()
    {
        var clock = new MovableClock();
        await using var hub = await TestHub.StartAsync(o => o with { Time = clock });
        var admin = hub.CreateToken(Role.Admin);

        var (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin,
            $$"""{"role": "analyst", "expires_at": "{{clock.GetUtcNow().AddHours(1):yyyy-MM-ddTHH:mm:ssZ}}"}""");
        Assert.True(status == HttpStatusCode.Created, body);
        var created = JsonDocument.Parse(body).RootElement;
        var secret = created.GetProperty("token").GetString()!;
        Assert.NotEqual(JsonValueKind.Null, created.GetProperty("expires_at").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(hub.Client, "/api/kpi/definitions", secret)).Status);
        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(hub.Client, "/api/kpi/definitions", secret)).Status);

        foreach (var (request, field) in new[]
        {
            ("""{"role": "country_ops_lead", "countries": ["mexico"]}""", "countries: "),
            ("""{"role": "vendor", "stores": ["st-1"], "countries": ["MX"]}""", "countries: "),
            ("""{"role": "admin", "expires_at": "2020-01-01T00:00:00Z"}""", "expires_at: "),
            ("""{"role": "admin", "expires_at": "tomorrow"}""", "expires_at: "),
            ("""{"role": "vendor"}""", "stores: "),
        })
        {
            (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin, request);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(field, body);
            Assert.DoesNotContain("--", body);
        }

        (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/tokens", admin, """{"role": "vendor", "stores": ["st-nowhere"]}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Contains("store 'st-nowhere' is not registered yet", JsonDocument.Parse(body).RootElement.GetProperty("warnings")[0].GetString());
    }
}
