using System.Text.Json;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.TypedAnswers;

/// <summary>
/// The fixed-shape answers are typed records, so <c>/openapi/v1.json</c> describes each one's schema
/// with the members the wire carries (snake_case, as the HTTP tests pin them): a client can be
/// generated from the document.
/// </summary>
public sealed class OpenApiAnswerSchemaTests
{
    public static TheoryData<string, string, string, string[]> Answers => new()
    {
        { "/api/me", "get", "200", ["id", "name", "role", "countries", "hubs", "zones", "stores", "store_names", "reporting_currency"] },
        { "/api/tokens", "get", "200", ["data"] },
        { "/api/tokens", "post", "201", ["id", "role", "countries", "stores", "created_at", "expires_at", "token", "warnings"] },
        { "/api/tokens/{id}", "delete", "200", ["revoked"] },
        { "/api/audit", "get", "200", ["data"] },
        { "/api/jobs", "get", "200", ["environment", "data"] },
        { "/api/jobs/{name}/run", "post", "202", ["run_id", "job", "status", "check"] },
        { "/api/runs", "get", "200", ["data"] },
        { "/api/quality", "get", "200", ["run_id", "checked_at", "status", "counts", "data"] },
        { "/api/alerts", "get", "200", ["data"] },
        { "/api/alerts/{id}/ack", "post", "200", ["alert_id", "rule", "state", "started_at", "resolved_at", "scope", "acknowledged_at", "acknowledged_by"] },
        { "/api/reports", "get", "200", ["data", "count"] },
        { "/api/slo", "get", "200", ["from", "to", "data"] },
        { "/api/privacy/erasure", "post", "200", ["success", "status", "erasure_id", "ids", "events", "blocks", "quarantined", "person_hash"] },
        { "/api/privacy/erasure", "post", "404", ["success", "error", "person_hash"] },
        { "/api/kpi/benchmark", "get", "200", ["metric", "store_id", "country", "category", "value", "available", "peers", "min_peers", "p25", "median", "p75", "reason", "start_date", "end_date", "kpi_versions"] },
    };

    /// <summary>The members of the rows of each list answer's <c>data</c>.</summary>
    public static TheoryData<string, string[]> Rows => new()
    {
        { "/api/tokens", ["id", "name", "role", "countries", "hubs", "zones", "stores", "source", "created_at", "last_used_at", "revoked_at", "expires_at"] },
        { "/api/audit", ["seq", "at", "actor", "role", "action", "params", "scope", "injected", "rows", "status", "hash"] },
        { "/api/jobs", ["job", "description", "schedule", "schedule_key", "scheduled", "next_run", "running", "last_run"] },
        { "/api/runs", ["run_id", "job", "source_system", "start_time", "end_time", "status", "records_written", "error_class", "error_message", "trigger", "details"] },
        { "/api/quality", ["check", "subject", "status", "value", "unit", "warn_at", "fail_at", "message", "checked_at", "run_id"] },
        { "/api/alerts", ["alert_id", "rule", "subject", "severity", "state", "started_at", "resolved_at", "value", "threshold", "scope", "message", "acknowledged_at", "acknowledged_by"] },
        { "/api/reports", ["id", "kind", "period_start", "period_end", "scope", "locale", "file_name", "content_type", "bytes", "sha256", "created_at", "run_id", "url"] },
        { "/api/slo", ["slo", "description", "objective", "attainment", "error_budget_remaining", "good", "total", "met"] },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Each_fixed_shape_answer_has_a_schema_with_its_members(string path, string method, string status, string[] members)
    {
        using var document = await OpenApiAsync();
        var schema = AnswerSchema(document.RootElement, path, method, status);

        Assert.Equal("object", Resolve(document.RootElement, schema).GetProperty("type").GetString());
        Assert.Equal(members.Order(StringComparer.Ordinal), Members(document.RootElement, schema).Intersect(members).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Each_list_answer_describes_its_rows(string path, string[] members)
    {
        using var document = await OpenApiAsync();
        var root = document.RootElement;
        var data = Resolve(root, Resolve(root, AnswerSchema(root, path, "get", "200")).GetProperty("properties").GetProperty("data"));
        Assert.Contains("array", Types(data));
        var row = data.GetProperty("items");

        // Exactly the members the wire carries: none missing, none the answer does not send.
        Assert.Equal(members.Order(StringComparer.Ordinal), Members(root, row).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Members_say_their_types_and_which_may_be_null()
    {
        using var document = await OpenApiAsync();
        var root = document.RootElement;
        var run = Resolve(root, Resolve(root, Resolve(root, AnswerSchema(root, "/api/runs", "get", "200")).GetProperty("properties").GetProperty("data")).GetProperty("items"));
        var members = run.GetProperty("properties");

        Assert.Equal(["string"], Types(Resolve(root, members.GetProperty("run_id"))));
        Assert.Contains("integer", Types(Resolve(root, members.GetProperty("records_written"))));
        Assert.Contains("null", Types(Resolve(root, members.GetProperty("end_time"))));
        Assert.DoesNotContain("null", Types(Resolve(root, members.GetProperty("start_time"))));
        Assert.Contains("end_time", run.GetProperty("required").EnumerateArray().Select(r => r.GetString()));

        // The benchmark's reason comes only when the peers are too few: not required.
        var benchmark = Resolve(root, AnswerSchema(root, "/api/kpi/benchmark", "get", "200"));
        var required = benchmark.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Contains("p25", required);
        Assert.DoesNotContain("reason", required);
    }

    [Theory]
    [InlineData("/api/me", "get", new[] { "400", "401", "403" })]
    [InlineData("/api/tokens/{id}", "delete", new[] { "400", "401", "403", "404" })]
    [InlineData("/api/jobs/{name}/run", "post", new[] { "400", "401", "403", "404", "409" })]
    [InlineData("/api/reports/{id}", "get", new[] { "400", "401", "403", "404" })]
    [InlineData("/api/kpi/query", "get", new[] { "400", "401", "403" })]
    public async Task Refusals_are_described_as_the_error_answer(string path, string method, string[] statuses)
    {
        using var document = await OpenApiAsync();
        var root = document.RootElement;

        foreach (var status in statuses)
        {
            Assert.Equal(["error", "success"], Members(root, AnswerSchema(root, path, method, status)).Order(StringComparer.Ordinal));
        }
    }

    private static async Task<JsonDocument> OpenApiAsync()
    {
        await using var hub = await TestHub.StartAsync();
        return JsonDocument.Parse(await hub.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
    }

    private static JsonElement AnswerSchema(JsonElement root, string path, string method, string status)
    {
        var responses = root.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
        Assert.True(responses.TryGetProperty(status, out var response), $"{method} {path} has no {status} answer in the OpenAPI document");
        return response.GetProperty("content").GetProperty("application/json").GetProperty("schema");
    }

    /// <summary>The schema itself, following a <c>$ref</c> into components/schemas.</summary>
    private static JsonElement Resolve(JsonElement root, JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference)
            ? root.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!["#/components/schemas/".Length..])
            : schema;

    private static IEnumerable<string> Members(JsonElement root, JsonElement schema) =>
        Resolve(root, schema).GetProperty("properties").EnumerateObject().Select(p => p.Name).ToList();

    /// <summary>A schema's type: one name, or a list of them (["string", "null"]).</summary>
    private static IReadOnlyList<string> Types(JsonElement schema) => !schema.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)] : [type.GetString()!];
}
