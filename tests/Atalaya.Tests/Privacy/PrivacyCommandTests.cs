using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Privacy;

/// <summary><c>atalaya privacy export|erase</c> on a data folder, as a separate process: answers, exit codes, help.</summary>
public sealed class PrivacyCommandTests
{
    [Fact]
    public async Task Export_then_erase_from_the_command_line()
    {
        var data = Path.Combine(Path.GetTempPath(), "atalaya-privacy-cli-" + Guid.NewGuid().ToString("N"));
        await using (var hub = Hub.Open(data))
        {
            var line = """{"event_id":"cli-1","event_type":"page_view","timestamp":"2026-03-01T10:00:00Z","user_id":"cli-user","anonymous_id":"cli-anon","context":{"page_url":"https://shop.example/?q=1","ip":"198.51.100.7"},"properties":{}}""" + "\n";
            Assert.Equal(1, (await NdjsonImporter.ImportAsync(hub.Pipeline, new MemoryStream(Encoding.UTF8.GetBytes(line)), "test")).Accepted);
        }

        var export = await AtalayaProcess.RunAsync("privacy", "export", "--data", data, "--user", "cli-user");
        Assert.True(export.ExitCode == 0, export.Stderr);
        using (var document = JsonDocument.Parse(export.Stdout))
        {
            Assert.Equal("cli-1", document.RootElement.GetProperty("events")[0].GetProperty("event_id").GetString());
            Assert.Equal(["cli-anon"], document.RootElement.GetProperty("anonymous_ids").EnumerateArray().Select(e => e.GetString()));
        }

        var erase = await AtalayaProcess.RunAsync("privacy", "erase", "--data", data, "--user", "cli-user");
        Assert.True(erase.ExitCode == 0, erase.Stderr);
        Assert.Contains("Erased era_", erase.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("cli-user", string.Join('\n', StoredEvents.Query(data, "SELECT event FROM raw_events;")), StringComparison.Ordinal);

        var again = await AtalayaProcess.RunAsync("privacy", "erase", "--data", data, "--anonymous", "cli-anon");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("Already erased", again.Stdout, StringComparison.Ordinal);

        var unknown = await AtalayaProcess.RunAsync("privacy", "erase", "--data", data, "--user", "nobody");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no data stored for that user_id", unknown.Stderr, StringComparison.Ordinal);
        var both = await AtalayaProcess.RunAsync("privacy", "export", "--data", data, "--user", "a", "--anonymous", "b");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("exactly one of --user ID or --anonymous ID", both.Stderr, StringComparison.Ordinal);
        var help = await AtalayaProcess.RunAsync("privacy", "erase", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--anonymous", help.Stdout, StringComparison.Ordinal);
    }
}
