using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// KPI and analysis answers on a cluster (docs/scale-out.md, "Answers on every node"): two real
/// <c>serve --clickhouse --rabbitmq</c> nodes, each taking half of a generated marketplace's
/// requests, answer every KPI and analysis question exactly as an embedded hub fed the same events;
/// an order posted to one node reaches the other's live stream; a node restarted loads the same
/// figures from ClickHouse.
/// </summary>
public sealed class ClusterAnswerTests(ClusterServers servers) : IClassFixture<ClusterServers>, IDisposable
{
    private const string Start = "2026-02-04";
    private const string End = "2026-03-15";
    private readonly TempDirectory _root = new("atalaya-answers");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Two_nodes_answer_every_kpi_and_analysis_question_as_the_embedded_hub_does_and_follow_each_other_live()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
        // Forty days over two months (two partitions in ClickHouse), a few thousand events.
        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 40, Seed: 23, EndDate: new DateOnly(2026, 3, 15), SessionsPerDay: 40, PlantedPairs: true), linesPerRequest: 250);

        await using var embedded = await StartAsync("embedded");
        await using var nodeA = await StartAsync("a", "--clickhouse", clickHouseUrl, "--rabbitmq", servers.Rabbit.Uri.ToString());
        var nodeB = await StartAsync("b", "--clickhouse", clickHouseUrl, "--rabbitmq", servers.Rabbit.Uri.ToString());
        try
        {
            for (var i = 0; i < requests.Count; i++)
            {
                Assert.Equal(HttpStatusCode.OK, await PostAsync(embedded, requests[i]));
                Assert.Equal(HttpStatusCode.OK, await PostAsync(i % 2 == 0 ? nodeA : nodeB, requests[i]));
            }
            var questions = await QuestionsAsync(embedded);
            foreach (var node in new[] { nodeA, nodeB })
            {
                await SameAnswersAsync(embedded, node, questions);
            }

            // Live: node B's event stream shows an order posted through node A.
            using var stream = await OpenStreamAsync(nodeB);
            var before = await NextOrdersAsync(stream);
            var order = Events.Valid("purchase_completed");
            order["timestamp"] = DateTimeOffset.UtcNow.ToString("O");
            order["properties"]!["order_id"] = "live-" + Guid.NewGuid().ToString("N");
            var orderLine = Encoding.UTF8.GetBytes(order.ToJsonString() + "\n");
            Assert.Equal(HttpStatusCode.OK, await PostAsync(nodeA, orderLine));
            await Wait.UntilAsync(async () => await NextOrdersAsync(stream) > before, "node B's stream shows node A's order", seconds: 60);

            // Restarted, node B loads the same figures from ClickHouse (503 with Retry-After until it has).
            await nodeB.DisposeAsync();
            nodeB = await StartAsync("b", "--clickhouse", clickHouseUrl, "--rabbitmq", servers.Rabbit.Uri.ToString());
            Assert.Equal(HttpStatusCode.OK, await PostAsync(embedded, orderLine));
            await SameAnswersAsync(embedded, nodeB, questions);
            await SameAnswersAsync(embedded, nodeA, questions);
        }
        finally
        {
            await nodeB.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_collecting_node_and_an_answering_node_split_the_work_and_the_answering_node_agrees_with_the_embedded_hub()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 10, Seed: 29, EndDate: new DateOnly(2026, 3, 15), SessionsPerDay: 40), linesPerRequest: 250);
        string[] cluster = ["--clickhouse", clickHouseUrl, "--rabbitmq", servers.Rabbit.Uri.ToString()];

        await using var embedded = await StartAsync("embedded-roles");
        await using var collector = await StartAsync("collector", [.. cluster, "--role", "collect"]);
        await using var answerer = await StartAsync("answerer", [.. cluster, "--role", "answer"]);
        foreach (var request in requests)
        {
            Assert.Equal(HttpStatusCode.OK, await PostAsync(embedded, request));
            Assert.Equal(HttpStatusCode.OK, await PostAsync(collector, request));
        }

        // The embedded hub normalizes behind its reads, on threads the kernel runs at nice 10; the
        // collecting node answers no reads, so it normalizes on the request's thread and has no
        // such threads (they only made it wait on the machine's other servers).
        Assert.Equal(Environment.ProcessorCount, NormalizeThreadNices(embedded.Process.Pid).Count(nice => nice == Engine.Storage.BackgroundPriority.Nice));
        Assert.Empty(NormalizeThreadNices(collector.Process.Pid));

        // Each node refuses the other side's work with 421 and says where to send it.
        using (var refused = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new ByteArrayContent(requests[0]) })
        {
            refused.Headers.Authorization = new AuthenticationHeaderValue("Bearer", answerer.WriteKey);
            refused.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            using var answer = await answerer.Client.SendAsync(refused);
            Assert.Equal(HttpStatusCode.MisdirectedRequest, answer.StatusCode);
            Assert.Contains("--role collect", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // Every way in for events: the Segment API and provider webhooks too.
        foreach (var path in new[] { "/v1/batch", "/api/webhooks/stripe" })
        {
            using var refused = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"batch\": []}", Encoding.UTF8, "application/json") };
            refused.Headers.Authorization = new AuthenticationHeaderValue("Bearer", answerer.WriteKey);
            using var answer = await answerer.Client.SendAsync(refused);
            Assert.True(answer.StatusCode == HttpStatusCode.MisdirectedRequest, $"{path}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        }
        using (var question = new HttpRequestMessage(HttpMethod.Get, $"/api/kpi/query?metric=orders&start_date={Start}&end_date={End}&aggregate=total"))
        {
            question.Headers.Authorization = new AuthenticationHeaderValue("Bearer", collector.AdminKey);
            using var answer = await collector.Client.SendAsync(question);
            Assert.Equal(HttpStatusCode.MisdirectedRequest, answer.StatusCode);
            Assert.Contains("--role answer", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The collector's writer stored every event; the answering node follows its writes.
        var ids = requests.SelectMany(r => ClusterData.EventIds(r)).Distinct(StringComparer.Ordinal).Count();
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == ids, "every event in ClickHouse", seconds: 60);
        await SameAnswersAsync(embedded, answerer, (await QuestionsAsync(embedded)).Take(3).ToList());
    }

    /// <summary>The nice value of each normalizing thread of a process.</summary>
    private static List<int> NormalizeThreadNices(int pid) => ProcessThreads.Nices(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "atalaya-normali");

    private sealed record Node(ServeProcess Process, string WriteKey, string AdminKey) : IAsyncDisposable
    {
        public HttpClient Client { get; } = new() { BaseAddress = new Uri(Process.Url), Timeout = TimeSpan.FromSeconds(60) };

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Process.DisposeAsync();
        }
    }

    private readonly Dictionary<string, (string Write, string Admin)> _keys = [];

    private async Task<Node> StartAsync(string name, params string[] cluster)
    {
        var data = _root[name];
        if (!_keys.TryGetValue(name, out var keys))
        {
            _keys[name] = keys = (await ClusterData.CreateTokenAsync(data, "write", "--source", "test"), await ClusterData.CreateTokenAsync(data, "admin"));
        }
        var process = await ServeProcess.StartAsync(null, ["--data", data, "--no-scheduler", .. cluster]);
        return new Node(process, keys.Write, keys.Admin);
    }

    /// <summary>Every KPI by day and country, the non-additive ones by week, the summary-free analyses: what the embedded hub's dictionary lists.</summary>
    private static async Task<List<string>> QuestionsAsync(Node embedded)
    {
        using var definitions = await GetJsonAsync(embedded, "/api/kpi/definitions");
        // The marketing KPIs come from the connectors' daily rows, which each node imports itself, not from events.
        string[] connectorKpis = ["ad_spend", "impressions", "clicks", "installs", "cpi", "roas"];
        var metrics = string.Join(',', definitions.RootElement.GetProperty("kpis").EnumerateArray()
            .Select(k => k.GetProperty("id").GetString()!).Where(id => !connectorKpis.Contains(id)));
        var range = $"start_date={Start}&end_date={End}";
        return
        [
            $"/api/kpi/query?metric={metrics}&{range}&aggregate=daily&group_by=country&limit=100000",
            $"/api/kpi/query?metric={metrics}&{range}&aggregate=weekly&limit=100000",
            $"/api/kpi/query?metric=gmv,orders,aov,net_gmv,refunds,commissions&{range}&aggregate=monthly&group_by=store_id&limit=100000",
            $"/api/analysis/top-products?{range}&order_by=revenue&limit=50",
            $"/api/analysis/funnel?steps=page_view,product_viewed,add_to_cart,purchase_completed&{range}",
            $"/api/analysis/retention?{range}",
            "/api/analysis/bought-together?limit=100",
        ];
    }

    /// <summary>Waits until <paramref name="node"/> answers each question with the embedded hub's data, then checks it.</summary>
    private static async Task SameAnswersAsync(Node embedded, Node node, List<string> questions)
    {
        foreach (var question in questions)
        {
            var expected = await DataAsync(embedded, question) ?? throw new InvalidOperationException("the embedded hub always answers");
            Assert.True(HasFigure(JsonDocument.Parse(expected).RootElement), $"{question}: the embedded hub's answer holds figures, so agreeing says something: {expected}");
            string? actual = null;
            try
            {
                await Wait.UntilAsync(async () => Agree(expected, actual = await DataAsync(node, question)), "the node's answer", seconds: 90);
            }
            catch (TimeoutException)
            {
                // Say where they differ rather than only that they do.
            }
            Assert.True(Agree(expected, actual), $"{question}\n{Difference(expected, actual)}");
        }
    }

    /// <summary>
    /// Whether two answers say the same: the same rows, names and texts, and numbers equal to within
    /// a billionth of their size. Not bit for bit: a node adds up the events of two collectors in
    /// another order than the embedded hub's one log, and a sum of doubles can then differ in its
    /// 15th digit (9.13178453333333 and …334), far below a cent.
    /// </summary>
    private static bool Agree(string expected, string? actual)
    {
        if (actual is null)
        {
            return false;
        }
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        return Agree(e.RootElement, a.RootElement);
    }

    private static bool Agree(JsonElement e, JsonElement a) => e.ValueKind == a.ValueKind && e.ValueKind switch
    {
        JsonValueKind.Number => Math.Abs(e.GetDouble() - a.GetDouble()) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(e.GetDouble()), Math.Abs(a.GetDouble()))),
        JsonValueKind.Array => e.GetArrayLength() == a.GetArrayLength() && e.EnumerateArray().Zip(a.EnumerateArray()).All(p => Agree(p.First, p.Second)),
        JsonValueKind.Object => e.EnumerateObject().Select(p => p.Name).SequenceEqual(a.EnumerateObject().Select(p => p.Name))
            && e.EnumerateObject().All(p => Agree(p.Value, a.GetProperty(p.Name))),
        _ => e.GetRawText() == a.GetRawText(),
    };

    private static bool HasFigure(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.Array => e.EnumerateArray().Any(HasFigure),
        JsonValueKind.Object => e.EnumerateObject().Any(p => HasFigure(p.Value)),
        _ => false,
    };

    /// <summary>The first rows where two answers differ, or their counts.</summary>
    private static string Difference(string? expected, string? actual)
    {
        if (expected is null || actual is null)
        {
            return $"embedded: {expected ?? "(none)"}\nnode: {actual ?? "(no answer)"}";
        }
        var e = JsonDocument.Parse(expected).RootElement;
        var a = JsonDocument.Parse(actual).RootElement;
        if (e.ValueKind != JsonValueKind.Array || a.ValueKind != JsonValueKind.Array)
        {
            return $"embedded: {expected}\nnode: {actual}";
        }
        var rows = e.EnumerateArray().Select(r => r.GetRawText()).ToList();
        var other = a.EnumerateArray().Select(r => r.GetRawText()).ToList();
        var differing = Enumerable.Range(0, Math.Max(rows.Count, other.Count))
            .Where(i => i >= rows.Count || i >= other.Count || !Agree(rows[i], other[i])).Take(5)
            .Select(i => $"  row {i}: embedded {(i < rows.Count ? rows[i] : "-")}\n          node     {(i < other.Count ? other[i] : "-")}");
        return $"{rows.Count} rows on the embedded hub, {other.Count} on the node; first differences:\n" + string.Join('\n', differing);
    }

    /// <summary>The answer's figures (a KPI answer's <c>data</c>: its freshness and health notes differ by node), or null while the node is loading.</summary>
    private static async Task<string?> DataAsync(Node node, string question)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, question);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", node.AdminKey);
        using var response = await node.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            Assert.True(response.Headers.RetryAfter is not null, "a loading node says when to ask again");
            return null;
        }
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{question}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        // KPI answers carry their figures in data beside notes about the node's own state; an analysis answer is all figures.
        return (json.RootElement.TryGetProperty("data", out var data) ? data : json.RootElement).GetRawText();
    }

    private static async Task<JsonDocument> GetJsonAsync(Node node, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", node.AdminKey);
        using var response = await node.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body);
    }

    private sealed class EventStream(HttpResponseMessage response, StreamReader reader) : IDisposable
    {
        public StreamReader Reader => reader;

        public void Dispose()
        {
            reader.Dispose();
            response.Dispose();
        }
    }

    private static async Task<EventStream> OpenStreamAsync(Node node)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/events?metric=orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", node.AdminKey);
        var response = await node.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new EventStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>Today's and yesterday's orders in the stream's next summary (the two, should the test pass midnight).</summary>
    private static async Task<double> NextOrdersAsync(EventStream stream)
    {
        while (await stream.Reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }
            using var json = JsonDocument.Parse(line["data:".Length..]);
            var row = json.RootElement.GetProperty("data").EnumerateArray().Single(r => r.GetProperty("metric").GetString() == "orders");
            return Number(row, "today") + Number(row, "yesterday");
        }
        throw new EndOfStreamException("the event stream ended");
    }

    private static double Number(JsonElement row, string name) =>
        row.GetProperty(name).ValueKind == JsonValueKind.Number ? row.GetProperty(name).GetDouble() : 0;

    private static Task<HttpStatusCode> PostAsync(Node node, byte[] body) => ClusterData.PostNdjsonAsync(node.Client, node.WriteKey, body);
}
