using System.Globalization;
using System.Text.Json;

namespace Atalaya.Engine.Catalog;

/// <summary>
/// The versioned event catalog (docs/events.md). It is data: <c>Catalog/Schemas/catalog.vN.json</c>,
/// embedded in the engine, the highest N in force. Adding a type or a property is a new catalog
/// version with a dated reason, never a code change. Types not in the catalog are custom events:
/// only their envelope is validated.
/// </summary>
public sealed class EventCatalog
{
    private readonly Dictionary<string, EventTypeRule> _types;

    private EventCatalog(int version, Dictionary<string, EventTypeRule> types, IReadOnlyList<CatalogChange> changes)
    {
        Version = version;
        _types = types;
        Changes = changes;
    }

    public int Version { get; }

    public IReadOnlyList<CatalogChange> Changes { get; }

    public IReadOnlyCollection<EventTypeRule> Types => _types.Values;

    public bool TryGet(string eventType, out EventTypeRule rule) => _types.TryGetValue(eventType, out rule!);

    /// <summary>The catalog shipped with this build (its highest version).</summary>
    public static EventCatalog Default { get; } = LoadEmbedded();

    private static EventCatalog LoadEmbedded()
    {
        var assembly = typeof(EventCatalog).Assembly;
        var latest = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith("Atalaya.Catalog.catalog.v", StringComparison.Ordinal))
            .OrderByDescending(name => int.Parse(name["Atalaya.Catalog.catalog.v".Length..^".json".Length], CultureInfo.InvariantCulture))
            .First();
        using var stream = assembly.GetManifestResourceStream(latest)
            ?? throw new InvalidOperationException($"Missing catalog resource {latest}.");
        return Parse(stream, latest);
    }

    /// <summary>Reads a catalog file; a malformed file throws with the path of the bad entry.</summary>
    public static EventCatalog Parse(Stream json, string origin)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var root = document.RootElement;
        var version = root.GetProperty("version").GetInt32();
        var monetary = root.TryGetProperty("money_types", out var money)
            ? money.EnumerateArray().Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
        var changes = root.TryGetProperty("changes", out var changeList)
            ? changeList.EnumerateArray().Select(c => new CatalogChange(
                c.GetProperty("version").GetInt32(), c.GetProperty("date").GetString()!, c.GetProperty("reason").GetString()!)).ToList()
            : [];
        var types = new Dictionary<string, EventTypeRule>(StringComparer.Ordinal);
        foreach (var type in root.GetProperty("types").EnumerateObject())
        {
            var path = $"{origin}: types.{type.Name}";
            var body = type.Value;
            types[type.Name] = new EventTypeRule(
                type.Name,
                body.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "",
                ParseFields(body, "properties", path),
                ParseFields(body, "context", path),
                body.TryGetProperty("envelope", out var env) ? env.EnumerateArray().Select(e => e.GetString()!).ToList() : [],
                body.TryGetProperty("when", out var when)
                    ? when.EnumerateArray().Select(w => new ConditionalRequirement(
                        w.GetProperty("field").GetString()!,
                        w.GetProperty("in").EnumerateArray().Select(v => v.GetString()!).ToList(),
                        w.GetProperty("require").EnumerateArray().Select(v => v.GetString()!).ToList())).ToList()
                    : [],
                monetary.Contains(type.Name));
        }
        return new EventCatalog(version, types, changes);
    }

    private static List<FieldRule> ParseFields(JsonElement owner, string member, string path) =>
        owner.TryGetProperty(member, out var fields)
            ? fields.EnumerateObject().Select(f => ParseField(f.Name, f.Value, $"{path}.{member}.{f.Name}")).ToList()
            : [];

    private static FieldRule ParseField(string name, JsonElement rule, string path)
    {
        var kindName = rule.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (!Enum.TryParse<FieldKind>(kindName, ignoreCase: true, out var kind))
        {
            throw new InvalidDataException($"{path}: unknown type '{kindName}' (use one of {string.Join(", ", Enum.GetNames<FieldKind>()).ToLowerInvariant()}).");
        }
        return new FieldRule(
            name,
            kind,
            rule.TryGetProperty("required", out var r) && r.GetBoolean(),
            rule.TryGetProperty("min", out var min) ? min.GetDecimal() : null,
            rule.TryGetProperty("max_length", out var ml) ? ml.GetInt32() : null,
            rule.TryGetProperty("enum", out var values) ? values.EnumerateArray().Select(v => v.GetString()!).ToList() : null,
            rule.TryGetProperty("min_items", out var mi) ? mi.GetInt32() : null,
            rule.TryGetProperty("max_items", out var mx) ? mx.GetInt32() : null,
            ParseFields(rule, "properties", path),
            rule.TryGetProperty("items", out var items) ? ParseField("[]", items, path + "[]") : null);
    }
}
