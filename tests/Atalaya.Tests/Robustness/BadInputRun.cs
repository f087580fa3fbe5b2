using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// One child hub that first gets the intact forms of every body the generator breaks (they must be
/// accepted, or a "bad" case would prove nothing), then every bad request, four at a time. The
/// bad-input tests assert on what it recorded.
/// </summary>
public sealed class BadInputRun : IAsyncLifetime
{
    public const int Seed = 1_729;
    private const int Concurrency = 4;

    public ChildHub Hub { get; private set; } = null!;

    /// <summary>The analyst token the write-key cases use as a "not a write key" key.</summary>
    public string AnalystToken { get; private set; } = "";

    public IReadOnlyList<BadRequest> Cases { get; private set; } = [];

    public IReadOnlyList<BadOutcome> Outcomes { get; private set; } = [];

    /// <summary>Intact requests the hub did not accept as the contract says, with its answers.</summary>
    public IReadOnlyList<string> ControlFailures { get; private set; } = [];

    /// <summary>Events (ids starting with <c>good-</c>) the intact requests got accepted.</summary>
    public int ControlEventsAccepted { get; private set; }

    public TimeSpan Elapsed { get; private set; }

    public IEnumerable<BadOutcome> Offenders => Outcomes.Where(o => o.Status is not (>= 400 and < 500) && !o.RefusedPerEvent);

    public IEnumerable<BadOutcome> WrongStatuses =>
        Outcomes.Where(o => o.Status is >= 400 and < 500 && !o.Case.Expected.Contains(o.Status.Value));

    public async Task InitializeAsync()
    {
        Hub = await ChildHub.LaunchAsync("bad-input");
        AnalystToken = await Hub.CreateTokenAsync("analyst", ["--name", "robustness"]);
        Cases = new BadRequestGenerator(Seed, Hub.WriteKey, AnalystToken).Generate();
        using var client = Hub.CreateClient(TimeSpan.FromSeconds(60));
        (ControlFailures, ControlEventsAccepted) = await SendControlsAsync(client, Hub.WriteKey);
        var watch = Stopwatch.StartNew();
        var outcomes = new BadOutcome[Cases.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, Cases.Count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency },
            async (i, ct) => outcomes[i] = await SendAsync(client, Cases[i], ct));
        Elapsed = watch.Elapsed;
        Outcomes = outcomes;
    }

    public async Task DisposeAsync()
    {
        if (ControlFailures.Count == 0 && !Offenders.Any() && !WrongStatuses.Any())
        {
            Hub.MarkPassed();
        }
        await Hub.DisposeAsync();
    }

    /// <summary>A failure report: counts per category, then each offender with its case and answer.</summary>
    public static string Report(string title, IReadOnlyCollection<BadOutcome> offenders, int limit = 80)
    {
        var text = new StringBuilder().Append(title).Append(" (").Append(offenders.Count).AppendLine(" cases)");
        foreach (var group in offenders.GroupBy(o => o.Case.Category).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append("  ").Append(group.Key).Append(": ").Append(group.Count()).AppendLine();
        }
        foreach (var outcome in offenders.Take(limit))
        {
            text.Append("- ").AppendLine(outcome.ToString());
        }
        if (offenders.Count > limit)
        {
            text.Append("… and ").Append(offenders.Count - limit).AppendLine(" more");
        }
        return text.ToString();
    }

    private static async Task<BadOutcome> SendAsync(HttpClient client, BadRequest bad, CancellationToken cancellationToken)
    {
        using var request = CollectorClient.Request(bad);
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return new BadOutcome(bad, (int)response.StatusCode, CollectorClient.Snippet(text, 200), CollectorClient.Parse(text));
        }
        catch (Exception ex) when (CollectorClient.IsConnectionFailure(ex))
        {
            return new BadOutcome(bad, null, $"no answer: {ex.GetType().Name}: {ex.Message}"
                + (ex.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : ""));
        }
    }

    private static async Task<(List<string> Failures, int Accepted)> SendControlsAsync(HttpClient client, string writeKey)
    {
        var bearer = "Bearer " + writeKey;
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":"));
        var ids = 0;
        string NextId() => $"good-{++ids:00000}";
        var controls = new List<(string Name, HttpRequestMessage Request, int Events)>();
        foreach (var template in SampleEvents.Templates)
        {
            controls.Add(($"one {template.Name} event", CollectorClient.Request("api/events", SampleEvents.Utf8(template.Build(NextId())), "application/json", bearer), 1));
        }
        var all = SampleEvents.Templates.Select(t => (JsonNode)t.Build(NextId())).ToArray();
        controls.Add(("an array of every template", CollectorClient.Request("api/events", SampleEvents.Utf8(new JsonArray(all)), "application/json", bearer), all.Length));
        var lines = SampleEvents.Templates.Select(t => (JsonNode)t.Build(NextId())).ToArray();
        controls.Add(("NDJSON of every template", CollectorClient.Request("api/events", SampleEvents.Ndjson(lines), "application/x-ndjson", bearer), lines.Length));
        var zipped = SampleEvents.Templates.Take(3).Select(t => (JsonNode)t.Build(NextId())).ToArray();
        controls.Add(("a gzip array", CollectorClient.Request("api/events", SampleEvents.Gzip(SampleEvents.Utf8(new JsonArray(zipped))), "application/json", bearer, "gzip"), zipped.Length));
        var chunked = SampleEvents.Templates.Take(2).Select(t => (JsonNode)t.Build(NextId())).ToArray();
        controls.Add(("a chunked array", CollectorClient.Request("api/events", SampleEvents.Utf8(new JsonArray(chunked)), "application/json", bearer, chunked: true), chunked.Length));
        var batch = new JsonObject
        {
            ["batch"] = new JsonArray(SampleEvents.SegmentTrack(NextId()), SampleEvents.SegmentTrack(NextId()), SampleEvents.SegmentTrack(NextId())),
            ["sentAt"] = SampleEvents.Timestamp,
        };
        controls.Add(("a segment batch (Basic)", CollectorClient.Request("v1/batch", SampleEvents.Utf8(batch), "application/json", basic), 3));
        var keyed = SampleEvents.SegmentTrack(NextId());
        keyed["writeKey"] = writeKey;
        controls.Add(("a segment track (writeKey in body)", CollectorClient.Request("v1/track", SampleEvents.Utf8(keyed), "application/json", null), 1));
        controls.Add(("a segment track (Basic)", CollectorClient.Request("v1/track", SampleEvents.Utf8(SampleEvents.SegmentTrack(NextId())), "application/json", basic), 1));

        var failures = new List<string>();
        var accepted = 0;
        foreach (var (name, request, events) in controls)
        {
            using (request)
            {
                try
                {
                    using var response = await client.SendAsync(request);
                    var text = await response.Content.ReadAsStringAsync();
                    var answer = CollectorClient.Parse(text);
                    if ((int)response.StatusCode != 200 || answer is null || !answer.Success || answer.Accepted != events || answer.Rejected != 0)
                    {
                        failures.Add($"{name}: expected 200 with {events} accepted, got {(int)response.StatusCode} {CollectorClient.Snippet(text)}");
                    }
                    accepted += answer?.Accepted ?? 0;
                }
                catch (Exception ex) when (CollectorClient.IsConnectionFailure(ex))
                {
                    failures.Add($"{name}: no answer ({ex.Message})");
                }
            }
        }
        return (failures, accepted);
    }
}
