using System.Text.Json.Nodes;
using Atalaya.Engine.Catalog;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Collect;

/// <summary>
/// Table tests generated from the catalog file itself: every type's minimal event passes, and
/// every rule of every field (required, type, range, enum, conditional) rejects with a message
/// naming the field's path. A rule added to the catalog is covered without touching this file.
/// </summary>
public sealed class CatalogRuleTests(EngineHubFixture fixture) : IClassFixture<EngineHubFixture>
{
    public static TheoryData<string> CatalogTypes() => [.. EventCatalog.Default.Types.Select(t => t.Type)];

    public static TheoryData<string, string, string> RequiredFields()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var type in EventCatalog.Default.Types)
        {
            foreach (var (path, _) in Fields(type).Where(f => f.Rule.Required))
            {
                data.Add(type.Type, path, $"{path}: is required");
            }
            foreach (var field in type.RequiredEnvelope)
            {
                data.Add(type.Type, field, $"{field}: is required for {type.Type}");
            }
        }
        return data;
    }

    public static TheoryData<string, string, string> WrongValues()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var type in EventCatalog.Default.Types)
        {
            foreach (var (path, rule) in Fields(type))
            {
                foreach (var bad in BadValuesFor(rule))
                {
                    data.Add(type.Type, path, bad);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CatalogTypes))]
    public async Task Accepts_the_minimal_valid_event_of_every_catalog_type(string type)
    {
        var result = await fixture.IngestAsync(Events.Valid(type).ToJsonString());
        Assert.Empty(result.Rejected);
        Assert.Equal(1, result.Accepted);
    }

    [Theory]
    [MemberData(nameof(RequiredFields))]
    public async Task Rejects_an_event_missing_a_required_field(string type, string path, string expected)
    {
        var e = Events.Valid(type);
        Remove(e, path);
        var result = await fixture.IngestAsync(e.ToJsonString());
        var rejection = Assert.Single(result.Rejected);
        Assert.Contains(expected, rejection.Errors);
        Assert.Equal(0, result.Accepted);
    }

    [Theory]
    [MemberData(nameof(WrongValues))]
    public async Task Rejects_a_field_value_that_breaks_its_rule_naming_the_path(string type, string path, string badValueJson)
    {
        var e = Events.Valid(type);
        Set(e, path, JsonNode.Parse(badValueJson));
        var result = await fixture.IngestAsync(e.ToJsonString());
        var rejection = Assert.Single(result.Rejected);
        Assert.Contains(rejection.Errors, error => error.StartsWith(path + ":", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requires_the_snapshot_when_an_order_reaches_a_final_status()
    {
        foreach (var status in new[] { "ENTREGADO", "CANCELADO", "REEMBOLSADO" })
        {
            var e = Events.Valid("order_status_changed");
            e["properties"]!["status"] = status;
            e["properties"]!.AsObject().Remove("snapshot");
            var result = await fixture.IngestAsync(e.ToJsonString());
            Assert.Contains($"properties.snapshot: is required when status is {status}", Assert.Single(result.Rejected).Errors);
        }
        var notFinal = Events.Valid("order_status_changed");
        notFinal["properties"]!["status"] = "EN_CAMINO";
        notFinal["properties"]!.AsObject().Remove("snapshot");
        Assert.Equal(1, (await fixture.IngestAsync(notFinal.ToJsonString())).Accepted);
    }

    [Fact]
    public async Task Accepts_a_custom_event_type_checking_only_its_envelope()
    {
        var custom = new JsonObject { ["event_id"] = Guid.NewGuid().ToString(), ["event_type"] = "gift_card_redeemed", ["timestamp"] = "2026-03-01T12:00:00-06:00", ["properties"] = new JsonObject { ["code"] = 5 } };
        var result = await fixture.IngestAsync(custom.ToJsonString());
        Assert.Equal(1, result.Accepted);
        var stored = StoredEvents.Single(fixture.DataDirectory, custom["event_id"]!.GetValue<string>());
        Assert.True(stored.GetProperty("custom").GetBoolean());
        Assert.Equal("2026-03-01T18:00:00Z", stored.GetProperty("timestamp").GetString());
    }

    public static TheoryData<string, string, string> EnvelopeCases() => new()
    {
        { "event_id", "null", "event_id: is required" },
        { "event_id", "42", "event_id: must be a string, got 42" },
        { "event_id", "\"\"", "event_id: must not be empty" },
        { "event_id", $"\"{new string('x', 129)}\"", "event_id: must be at most 128 characters, got 129" },
        { "event_type", "\"Page View\"", "event_type: must be snake_case" },
        { "event_type", "\"9lives\"", "event_type: must be snake_case" },
        { "event_type", "[]", "event_type: must be a string, got an array" },
        { "timestamp", "\"2026-03-01T12:00:00\"", "timestamp: must be ISO 8601 with an offset" },
        { "timestamp", "\"yesterday\"", "timestamp: must be ISO 8601 with an offset" },
        { "timestamp", "\"1970-01-01T00:00:00Z\"", "timestamp: must be ISO 8601 with an offset" },
        { "timestamp", "1772366400", "timestamp: must be a string" },
        { "session_id", "7", "session_id: must be a string, got 7" },
        { "user_id", "{}", "user_id: must be a string, got an object" },
        { "anonymous_id", $"\"{new string('a', 257)}\"", "anonymous_id: must be at most 256 characters" },
        { "context", "\"web\"", "context: must be an object" },
        { "context.device_type", "\"phone\"", "context.device_type: must be one of mobile, tablet, desktop" },
        { "context.platform", "\"windows\"", "context.platform: must be one of web, ios, android, server" },
        { "context.country", "\"mx\"", "context.country: must be an ISO 3166 country code" },
        { "context.user_agent", "12", "context.user_agent: must be a string" },
        { "properties", "[1,2]", "properties: must be an object, got an array" },
    };

    [Theory]
    [MemberData(nameof(EnvelopeCases))]
    public async Task Rejects_an_invalid_envelope_with_a_precise_message(string path, string valueJson, string expected)
    {
        var e = Events.Valid("store_visited");
        Set(e, path, JsonNode.Parse(valueJson));
        var result = await fixture.IngestAsync(e.ToJsonString());
        var rejection = Assert.Single(result.Rejected);
        Assert.Contains(rejection.Errors, error => error.StartsWith(expected, StringComparison.Ordinal));
        Assert.Equal(0, result.Accepted);
    }

    /// <summary>Every field of a type with its JSON path, descending into objects and array items.</summary>
    private static IEnumerable<(string Path, FieldRule Rule)> Fields(EventTypeRule type)
    {
        foreach (var f in Walk(type.Properties, "properties"))
        {
            yield return f;
        }
        foreach (var f in Walk(type.Context, "context"))
        {
            yield return f;
        }
    }

    private static IEnumerable<(string Path, FieldRule Rule)> Walk(IEnumerable<FieldRule> fields, string prefix)
    {
        foreach (var field in fields)
        {
            var path = $"{prefix}.{field.Name}";
            yield return (path, field);
            foreach (var nested in Walk(field.Fields, path))
            {
                yield return nested;
            }
            if (field.Items is { } items)
            {
                foreach (var nested in Walk(items.Fields, path + "[0]"))
                {
                    yield return nested;
                }
            }
        }
    }

    private static IEnumerable<string> BadValuesFor(FieldRule rule)
    {
        string[] values = rule.Kind switch
        {
            FieldKind.String when rule.AllowedValues is not null => ["\"NOT_A_VALUE\"", "3"],
            FieldKind.String => ["42", "true", "[]"],
            // Below the minimum: 0 where the minimum is 1 (quantities), -1 where 0 is allowed (stock).
            FieldKind.Integer => ["\"2\"", "1.5", rule.Min is 0 ? "-1" : "0"],
            FieldKind.Money => ["\"12.50\"", "-1", "1e400", "{}"],
            FieldKind.Rate => ["0", "\"0.05\"", "-0.1"],
            FieldKind.Currency => ["\"mxn\"", "\"PESOS\"", "840"],
            FieldKind.Country => ["\"Mexico\"", "\"mx\"", "52"],
            FieldKind.Number => ["\"1\"", "1e400"],
            FieldKind.Boolean => ["\"yes\""],
            FieldKind.Object => ["\"x\"", "[]"],
            FieldKind.Array => ["\"x\"", "{}", "[]"],
            _ => [],
        };
        return values.Where(v => !(rule.Kind == FieldKind.Array && v == "[]" && rule.MinItems is null));
    }

    private static void Remove(JsonObject e, string path)
    {
        var (parent, name) = Navigate(e, path);
        parent.Remove(name);
    }

    private static void Set(JsonObject e, string path, JsonNode? value)
    {
        var (parent, name) = Navigate(e, path);
        parent[name] = value;
    }

    private static (JsonObject Parent, string Name) Navigate(JsonObject e, string path)
    {
        var parts = path.Split('.');
        JsonNode node = e;
        foreach (var part in parts[..^1])
        {
            var bracket = part.IndexOf('[', StringComparison.Ordinal);
            if (bracket >= 0)
            {
                node = node[part[..bracket]]![int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture)]!;
            }
            else
            {
                node = node[part] ??= new JsonObject();
            }
        }
        return (node.AsObject(), parts[^1]);
    }
}
