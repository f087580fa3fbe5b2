using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Http;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>
/// A real hub (<see cref="TestHub"/>) with an admin token, and the reference's view of what it
/// stored, re-read straight from SQLite by <see cref="Refresh"/> after every change.
/// </summary>
public sealed class KpiHub : IAsyncDisposable
{
    private KpiHub(TestHub server)
    {
        Server = server;
        AdminToken = server.Hub.Tokens.Create(new TokenRequest(Role.Admin, "kpi-conformance")).Secret;
        Api = new MetricsClient(server.Client, AdminToken);
        Reference = ReferenceData.FromStored(StoredEvents.All(server.DataDirectory));
    }

    public TestHub Server { get; }

    public string AdminToken { get; }

    public MetricsClient Api { get; private set; }

    public ReferenceData Reference { get; private set; }

    public static async Task<KpiHub> StartEmptyAsync() => new(await TestHub.StartAsync());

    /// <summary>Loads generated demo events with <c>atalaya import</c>'s code path before the server starts, so the engine meets them at startup.</summary>
    public static async Task<KpiHub> StartWithDemoAsync(DemoOptions options, Func<ServeOptions, ServeOptions>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-kpi-" + Guid.NewGuid().ToString("N"));
        await using (var hub = Engine.Hub.Open(directory))
        {
            using var ndjson = new MemoryStream();
            DemoGenerator.WriteNdjson(options, ndjson);
            // Imported in runs of lines alternating between two source systems, so source_system
            // varies within sessions, stores and days like it does when web and server SDKs share a hub.
            var lines = System.Text.Encoding.UTF8.GetString(ndjson.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            for (var start = 0; start < lines.Length; start += 997)
            {
                var part = string.Join('\n', lines.Skip(start).Take(997)) + "\n";
                using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(part));
                var summary = await NdjsonImporter.ImportAsync(hub.Pipeline, stream, (start / 997) % 2 == 0 ? "demo-web" : "demo-server");
                Assert.True(summary.Rejected == 0, string.Join("; ", summary.FirstErrors));
            }
        }
        return new(await TestHub.StartAsync(configure, directory));
    }

    /// <summary>POSTs the events as one NDJSON request; returns the collector's answer.</summary>
    public async Task<JsonElement> PostAsync(IEnumerable<JsonObject> events)
    {
        using var response = await Server.PostEventsAsync(EventBuilder.Ndjson(events), "application/x-ndjson");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST /api/events answered {(int)response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        var answer = document.RootElement.Clone();
        Assert.True(answer.GetProperty("rejected").GetArrayLength() == 0, "events were rejected: " + body);
        Refresh();
        return answer;
    }

    public void Refresh() => Reference = ReferenceData.FromStored(StoredEvents.All(Server.DataDirectory));

    /// <summary>Stops the server and starts a new one on the same folder (same tokens, same data), running <paramref name="whileStopped"/> in between.</summary>
    public async Task RestartAsync(Action? whileStopped = null)
    {
        await Server.RestartAsync(whileStopped);
        Api = new MetricsClient(Server.Client, AdminToken);
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
