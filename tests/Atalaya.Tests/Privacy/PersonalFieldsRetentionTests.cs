using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Atalaya.Tests.Privacy;

/// <summary>
/// The personal_fields job (docs/privacy.md): events older than retention.personal_fields_days lose
/// their IP, user agent and traits, keep everything else, and the run is recorded like every job's.
/// </summary>
public sealed class PersonalFieldsRetentionTests
{
    private static string Event(string id, string at) =>
        $$$"""{"event_id":"{{{id}}}","event_type":"page_view","timestamp":"{{{at}}}","user_id":"u-1","session_id":"s-{{{id}}}","context":{"ip":"198.51.100.7","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1","page_url":"https://shop.example/","country":"SE"},"properties":{}}""";

    [Fact]
    public async Task Old_events_lose_their_personal_fields_and_keep_the_rest()
    {
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-personal-fields-" + Guid.NewGuid().ToString("N"));
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 6, 30, 12, 0, 0, TimeSpan.Zero));
        await using var hub = Hub.Open(directory, time: clock);
        var ndjson = string.Join('\n', Event("old-1", "2026-03-01T10:00:00Z"), Event("old-2", "2026-03-20T10:00:00Z"), Event("recent", "2026-06-20T10:00:00Z")) + "\n";
        var summary = await NdjsonImporter.ImportAsync(hub.Pipeline, new MemoryStream(Encoding.UTF8.GetBytes(ndjson)), "test");
        Assert.Equal(3, summary.Accepted);
        var config = new EnvironmentConfig { Environment = "dev" };
        config.Retention.PersonalFieldsDays = 90;
        var runner = new JobRunner(hub.Database, hub.Kpis, config, clock);

        var run = runner.Run(Engine.Privacy.PersonalFieldsRetention.JobName, "manual").Run!;

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Equal(2, run.RecordsWritten);
        foreach (var id in new[] { "old-1", "old-2" })
        {
            var context = StoredEvents.Single(directory, id).GetProperty("context");
            Assert.False(context.TryGetProperty("ip", out _));
            Assert.False(context.TryGetProperty("user_agent", out _));
            Assert.Equal("mobile", context.GetProperty("device_type").GetString()); // derived when stored, kept
            Assert.Equal("SE", context.GetProperty("country").GetString());
            Assert.Equal("u-1", StoredEvents.Single(directory, id).GetProperty("user_id").GetString());
        }
        Assert.Equal("198.51.100.0", StoredEvents.Single(directory, "recent").GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal(3, StoredEvents.Count(directory));

        // A later run reads only what became old since: the recent event, 100 days on.
        clock.Advance(TimeSpan.FromDays(100));
        var later = runner.Run(Engine.Privacy.PersonalFieldsRetention.JobName, "manual").Run!;
        Assert.Equal(RunStatus.Success, later.Status);
        Assert.Equal(1, later.RecordsWritten);
        Assert.False(StoredEvents.Single(directory, "recent").GetProperty("context").TryGetProperty("ip", out _));
    }
}
