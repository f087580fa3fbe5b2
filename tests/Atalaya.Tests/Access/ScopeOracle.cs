using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Access;

/// <summary>
/// Sends a <see cref="ScopeRequest"/> and judges the answer against the access rules and the KPI
/// reference, knowing nothing of the engine: the exact status (401 for no, unknown or revoked
/// tokens; 403 for write keys, for admin-only endpoints asked by others and for a filter value
/// outside the token's lists, whose message must name such a value; 200 otherwise), then for a 200
/// the answer computed by the reference over the visible data only, and no store the token may not
/// see anywhere in the body. Returns the first difference, or null when the answer is right.
/// </summary>
public sealed class ScopeOracle(AccessHubFixture hub, string definitions)
{
    public const int MinimumPeers = 5;

    public static readonly string[] AdminOnly = ["/api/tokens", "/api/audit"];

    /// <summary>Operations data (pipeline runs, jobs, data quality, SLOs): admin and analyst tokens only.</summary>
    public static readonly string[] Operations = ["/api/runs", "/api/jobs", "/api/quality", "/api/slo"];

    public static readonly string[] WithOracle =
    [
        "/api/kpi/query", "/api/kpi/summary", "/api/kpi/timeseries", "/api/kpi/events", "/api/kpi/definitions", "/api/kpi/benchmark",
        "/api/analysis/funnel", "/api/analysis/retention", "/api/analysis/top-products", .. AdminOnly, .. Operations,
    ];

    private readonly ReferenceData _data = hub.Reference;

    /// <summary>What happened, for the coverage counts: the status, and for benchmarks whether peers were shown.</summary>
    public sealed record Outcome(int Status, string? Difference, bool? PeersShown = null);

    public async Task<Outcome> CheckAsync(ScopeRequest request)
    {
        var (expectedStatus, mustName) = ExpectedStatus(request);
        var before = hub.Clock.GetUtcNow();
        var (status, body) = await SendAsync(request);
        var after = hub.Clock.GetUtcNow();
        if ((int)status != expectedStatus)
        {
            return new((int)status, $"expected {expectedStatus}, got {(int)status}: {MetricsClient.Clip(body)}");
        }
        if (expectedStatus != 200)
        {
            var message = ErrorMessage(body);
            return mustName.Count > 0 && !mustName.Any(v => message.Contains($"'{v}'", StringComparison.Ordinal))
                ? new(expectedStatus, $"the 403 message should name one of {string.Join(", ", mustName)}: {message}")
                : new(expectedStatus, null);
        }
        using var document = JsonDocument.Parse(body);
        var json = document.RootElement;
        if (Leak(request, body) is { } leak)
        {
            return new(200, leak);
        }
        var effective = request.Caller.Scope!.Effective(request.Filters);
        return request.Path switch
        {
            "/api/kpi/query" => new(200, Query(request, json, effective)),
            "/api/kpi/summary" or "/api/kpi/events" => new(200, Summary(request, json, effective)),
            "/api/kpi/timeseries" => new(200, Timeseries(request, json, effective, before, after)),
            "/api/kpi/definitions" => new(200, body == definitions ? null : "the definitions differ from the admin's"),
            "/api/kpi/benchmark" => Benchmark(request, json),
            "/api/analysis/funnel" => new(200, Funnel(request, json, effective)),
            "/api/analysis/retention" => new(200, Retention(request, json, effective)),
            "/api/analysis/top-products" => new(200, TopProducts(request, json, effective)),
            "/api/tokens" => new(200, body.Contains("atl_", StringComparison.Ordinal) ? "the token list shows a secret" : null),
            _ => new(200, null),
        };
    }

    /// <summary>The status the rules give, and for a 403 on scope the values its message may name.</summary>
    public (int Status, List<string> MustName) ExpectedStatus(ScopeRequest request)
    {
        var caller = request.Caller;
        switch (caller.Kind)
        {
            case CallerKind.Missing or CallerKind.Unknown or CallerKind.Revoked:
                return (401, []);
            case CallerKind.WriteKey:
                return (403, []);
        }
        var scope = caller.Scope!;
        if (AdminOnly.Contains(request.Path) && scope.Role != "admin")
        {
            return (403, []);
        }
        if (Operations.Contains(request.Path))
        {
            return (scope.Role is "admin" or "analyst" ? 200 : 403, []);
        }
        if (request.Path == "/api/kpi/benchmark")
        {
            var store = BenchmarkStore(request);
            return scope.SeesStore(store, hub.Stores[store]) ? (200, []) : (403, [store]);
        }
        var violations = scope.Violations(request.Filters);
        return violations.Count > 0 ? (403, violations) : (200, []);
    }

    private static string BenchmarkStore(ScopeRequest request) => request.Get("store_id") ?? request.Caller.Scope!.Stores[0];

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(ScopeRequest request)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, request.PathAndQuery);
        if (request.Caller.Secret is { } secret)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }
        var client = hub.Serving.Client;
        if (request.Path != "/api/kpi/events")
        {
            using var response = await client.SendAsync(message);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        // The event stream: its first `summary` event, then hang up.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var stream = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        if (stream.StatusCode != HttpStatusCode.OK)
        {
            return (stream.StatusCode, await stream.Content.ReadAsStringAsync(timeout.Token));
        }
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token));
        string? sawEvent = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                sawEvent = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return sawEvent == "summary" ? (HttpStatusCode.OK, line[6..]) : (HttpStatusCode.InternalServerError, $"first event was '{sawEvent}'");
            }
        }
        return (HttpStatusCode.InternalServerError, "the stream ended before its first summary");
    }

    private static string ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var error) ? error.GetString() ?? "" : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    /// <summary>A store the token may not see, named anywhere in the answer (other than where the request itself named it).</summary>
    private string? Leak(ScopeRequest request, string body)
    {
        var scope = request.Caller.Scope!;
        if (scope.SeesEverything)
        {
            return null;
        }
        var named = request.Params.SelectMany(p => p.Value.Split(',')).ToHashSet(StringComparer.Ordinal);
        var leaked = hub.Stores.Keys.FirstOrDefault(store => !named.Contains(store) && !scope.SeesStore(store, hub.Stores[store])
            && body.Contains($"\"{store}\"", StringComparison.Ordinal));
        return leaked is null ? null : $"the answer names store {leaked}, which this token may not see";
    }

    private string? Query(ScopeRequest request, JsonElement json, DimensionFilters effective)
    {
        var query = new KpiQuery(Date(request, "start_date"), Date(request, "end_date"), request.Get("aggregate")!, request.Get("tz")!)
        {
            Metrics = request.List("metric")!,
            GroupBy = request.List("group_by") ?? [],
            Filters = effective,
        };
        var differences = KpiComparison.Differences(KpiReference.Query(_data, query), KpiAnswer.Parse(json, query), query);
        return differences.Count == 0 ? null : KpiComparison.Describe($"reference over {effective}", differences);
    }

    private string? Summary(ScopeRequest request, JsonElement json, DimensionFilters effective)
    {
        var asOf = json.GetProperty("as_of").GetDateTimeOffset();
        var expected = KpiLiveReference.Summary(_data, asOf, request.Get("tz")!, effective, request.List("metric"));
        var actual = json.GetProperty("data").EnumerateArray().Select(r => new SummaryRow(
            r.GetProperty("metric").GetString()!, Number(r, "today"), Number(r, "yesterday"), Number(r, "avg_7d"),
            Number(r, "change_vs_yesterday_pct"), Number(r, "change_vs_avg_7d_pct"))).ToList();
        if (!expected.Select(r => r.Metric).SequenceEqual(actual.Select(r => r.Metric)))
        {
            return $"metrics [{string.Join(',', actual.Select(r => r.Metric))}], expected [{string.Join(',', expected.Select(r => r.Metric))}]";
        }
        var first = expected.Zip(actual).FirstOrDefault(p => !(KpiComparison.SameValue(p.First.Metric, p.First.Today, p.Second.Today)
            && KpiComparison.SameValue(p.First.Metric, p.First.Yesterday, p.Second.Yesterday)
            && KpiComparison.Close(p.First.Avg7d, p.Second.Avg7d)
            && KpiComparison.Close(p.First.ChangeVsYesterdayPct, p.Second.ChangeVsYesterdayPct)
            && KpiComparison.Close(p.First.ChangeVsAvg7dPct, p.Second.ChangeVsAvg7dPct)));
        return first == default ? null : $"over {effective} as of {asOf:O}: expected {first.First}, actual {first.Second}";
    }

    private string? Timeseries(ScopeRequest request, JsonElement json, DimensionFilters effective, DateTimeOffset before, DateTimeOffset after)
    {
        var metric = request.Get("metric")!;
        var hours = int.Parse(request.Get("hours")!, CultureInfo.InvariantCulture);
        var actual = json.GetProperty("data").EnumerateArray().Select(r => (r.GetProperty("period").GetString()!, Number(r, "value"))).ToList();
        var candidates = new[] { after, before }.Select(now => KpiLiveReference.Timeseries(_data, metric, hours, now, request.Get("tz")!, effective)).ToList();
        if (candidates.Any(expected => expected.Count == actual.Count
            && expected.Zip(actual).All(p => p.First.Period == p.Second.Item1 && KpiComparison.SameValue(metric, p.First.Value, p.Second.Item2))))
        {
            return null;
        }
        var first = candidates[0].Zip(actual).FirstOrDefault(p => p.First.Period != p.Second.Item1 || !KpiComparison.SameValue(metric, p.First.Value, p.Second.Item2));
        return $"over {effective}: {candidates[0].Count} expected hours, {actual.Count} actual; first difference: expected {first.First}, actual {first.Second}";
    }

    private Outcome Benchmark(ScopeRequest request, JsonElement json)
    {
        var store = BenchmarkStore(request);
        var expected = BenchmarkReference.Compute(_data, hub.Stores, request.Get("metric")!, store,
            Date(request, "start_date"), Date(request, "end_date"), request.Get("tz")!, MinimumPeers);
        var actual = new BenchmarkReference.Answer(json.GetProperty("store_id").GetString()!, Text(json, "country"), Text(json, "category"),
            Number(json, "value"), json.GetProperty("available").GetBoolean(), json.GetProperty("peers").GetInt32(),
            Number(json, "p25"), Number(json, "median"), Number(json, "p75"));
        var metric = request.Get("metric")!;
        var same = expected.StoreId == actual.StoreId && expected.Country == actual.Country && expected.Category == actual.Category
            && KpiComparison.SameValue(metric, expected.Value, actual.Value) && expected.Available == actual.Available && expected.Peers == actual.Peers
            && KpiComparison.Close(expected.P25, actual.P25) && KpiComparison.Close(expected.Median, actual.Median) && KpiComparison.Close(expected.P75, actual.P75);
        return new(200, same ? null : $"expected {expected}, actual {actual}", actual.Available);
    }

    private string? Funnel(ScopeRequest request, JsonElement json, DimensionFilters effective)
    {
        var (start, end) = Instants(request);
        var expected = FunnelReference.Compute(_data, request.List("steps")!, int.Parse(request.Get("window")!, CultureInfo.InvariantCulture), start, end, effective);
        var actual = json.GetProperty("steps").EnumerateArray().Select(s => new FunnelStep(s.GetProperty("step").GetString()!, s.GetProperty("users").GetInt32(),
            Number(s, "conversion_from_previous"), Number(s, "conversion_from_first"))).ToList();
        var same = expected.Count == actual.Count && expected.Zip(actual).All(p => p.First.Step == p.Second.Step && p.First.Users == p.Second.Users
            && KpiComparison.Close(p.First.ConversionFromPrevious, p.Second.ConversionFromPrevious)
            && KpiComparison.Close(p.First.ConversionFromFirst, p.Second.ConversionFromFirst));
        return same ? null : $"over {effective}: expected [{string.Join("; ", expected)}], actual [{string.Join("; ", actual)}]";
    }

    private string? Retention(ScopeRequest request, JsonElement json, DimensionFilters effective)
    {
        DateTimeOffset? start = null, end = null;
        if (request.Get("start_date") is not null)
        {
            (start, end) = Instants(request);
        }
        var expected = RetentionReference.Compute(_data, request.Get("period")!, start, end, effective, request.Get("tz")!)
            .Select(r => r.ToString()).Order(StringComparer.Ordinal).ToList();
        var actual = json.GetProperty("data").EnumerateArray()
            .Select(r => new RetentionRow(r.GetProperty("cohort").GetString()!, r.GetProperty("periods_since_first").GetInt32(), r.GetProperty("users").GetInt32()))
            .Where(r => r.Users > 0).Select(r => r.ToString()).Order(StringComparer.Ordinal).ToList();
        if (expected.SequenceEqual(actual))
        {
            return null;
        }
        var first = Enumerable.Range(0, Math.Max(expected.Count, actual.Count)).First(i => i >= expected.Count || i >= actual.Count || expected[i] != actual[i]);
        return $"over {effective}: {expected.Count} expected cells, {actual.Count} actual; first difference at {first}: "
            + $"expected {(first < expected.Count ? expected[first] : "none")}, actual {(first < actual.Count ? actual[first] : "none")}";
    }

    private string? TopProducts(ScopeRequest request, JsonElement json, DimensionFilters effective)
    {
        var (start, end) = Instants(request);
        var expected = TopProductsReference.Compute(_data, request.Get("order_by")!, int.Parse(request.Get("limit")!, CultureInfo.InvariantCulture), start, end, effective);
        var actual = json.GetProperty("data").EnumerateArray().Select(r => new ProductRow(r.GetProperty("product_id").GetString()!,
            Text(r, "product_name"), r.GetProperty("store_id").GetString()!, r.GetProperty("revenue").GetDouble(), r.GetProperty("units").GetDouble(),
            r.GetProperty("orders").GetInt32(), r.GetProperty("views").GetInt32())).ToList();
        var first = Enumerable.Range(0, Math.Max(expected.Count, actual.Count)).FirstOrDefault(i => i >= expected.Count || i >= actual.Count
            || !(expected[i].ProductId == actual[i].ProductId && expected[i].StoreId == actual[i].StoreId && expected[i].ProductName == actual[i].ProductName
                && KpiComparison.Close(expected[i].Revenue, actual[i].Revenue) && expected[i].Units == actual[i].Units
                && expected[i].Orders == actual[i].Orders && expected[i].Views == actual[i].Views), -1);
        return first < 0 ? null : $"over {effective}: {expected.Count} expected rows, {actual.Count} actual; row {first}: "
            + $"expected {(first < expected.Count ? expected[first] : "none")}, actual {(first < actual.Count ? actual[first] : "none")}";
    }

    private static DateOnly Date(ScopeRequest request, string name) => DateOnly.ParseExact(request.Get(name)!, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static (DateTimeOffset Start, DateTimeOffset End) Instants(ScopeRequest request)
    {
        var calendar = new LocalCalendar(request.Get("tz")!);
        return (calendar.StartOfDay(Date(request, "start_date")), calendar.StartOfDay(Date(request, "end_date").AddDays(1)));
    }

    private static double? Number(JsonElement owner, string name) => MetricsClient.NumberOrNull(owner.GetProperty(name));

    private static string? Text(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
