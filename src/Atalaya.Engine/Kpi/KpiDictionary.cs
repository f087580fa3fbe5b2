using System.Globalization;
using System.Text.Json;

namespace Atalaya.Engine.Kpi;

/// <summary>
/// The KPI dictionary (docs/kpis.md) as data: <c>Kpi/Definitions/kpis.vN.json</c>, embedded, the
/// highest N in force. Each KPI carries its own version and dated change history, so an answer can
/// say which definition produced a figure; the shared rules (periods, dimensions, orders,
/// sessions, currency) are part of the file too. Changing a definition is a data change with a
/// version bump, and the engine must follow it.
/// </summary>
public sealed class KpiDictionary
{
    private readonly Dictionary<string, KpiDefinition> _byId;

    private KpiDictionary(int version, IReadOnlyList<KpiChange> changes, IReadOnlyList<string> rules, IReadOnlyList<KpiDefinition> kpis, byte[] document)
    {
        Version = version;
        Changes = changes;
        Rules = rules;
        Kpis = kpis;
        Document = document;
        _byId = kpis.ToDictionary(k => k.Id, StringComparer.Ordinal);
    }

    public int Version { get; }

    public IReadOnlyList<KpiChange> Changes { get; }

    public IReadOnlyList<string> Rules { get; }

    /// <summary>In dictionary order, which is also the order of answers.</summary>
    public IReadOnlyList<KpiDefinition> Kpis { get; }

    /// <summary>The file as shipped, served by <c>/api/kpi/definitions</c>.</summary>
    public byte[] Document { get; }

    public bool TryGet(string id, out KpiDefinition definition) => _byId.TryGetValue(id, out definition!);

    public static KpiDictionary Default { get; } = LoadEmbedded();

    private const string ResourcePrefix = "Atalaya.Kpi.kpis.v";

    /// <summary>Every dictionary version shipped in this build, oldest first: earlier definitions stay readable.</summary>
    public static IReadOnlyList<int> ShippedVersions { get; } = [.. typeof(KpiDictionary).Assembly.GetManifestResourceNames()
        .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
        .Select(name => int.Parse(name[ResourcePrefix.Length..^".json".Length], CultureInfo.InvariantCulture))
        .Order()];

    /// <summary>A shipped dictionary file as it was (see <see cref="ShippedVersions"/>).</summary>
    public static byte[] Shipped(int version)
    {
        using var stream = typeof(KpiDictionary).Assembly.GetManifestResourceStream($"{ResourcePrefix}{version}.json")
            ?? throw new ArgumentOutOfRangeException(nameof(version), version, "no such dictionary version");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static KpiDictionary LoadEmbedded()
    {
        var assembly = typeof(KpiDictionary).Assembly;
        const string Prefix = "Atalaya.Kpi.kpis.v";
        var latest = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
            .OrderByDescending(name => int.Parse(name[Prefix.Length..^".json".Length], CultureInfo.InvariantCulture))
            .First();
        using var stream = assembly.GetManifestResourceStream(latest)
            ?? throw new InvalidOperationException($"Missing KPI dictionary resource {latest}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Parse(copy.ToArray(), latest);
    }

    /// <summary>Reads a dictionary file; a KPI the engine does not know, or one missing, is an error.</summary>
    public static KpiDictionary Parse(byte[] json, string origin)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var kpis = new List<KpiDefinition>();
        foreach (var k in root.GetProperty("kpis").EnumerateArray())
        {
            var id = k.GetProperty("id").GetString()!;
            // Dictionaries before version 3 hold event KPIs only and say nothing of their source.
            var source = k.TryGetProperty("source", out var s) ? s.GetString()! : KpiDefinition.FromEvents;
            var known = source switch
            {
                KpiDefinition.FromEvents => KpiIds.TryParse(id, out _),
                KpiDefinition.FromConnectors => MarketingKpiIds.Contains(id),
                _ => throw new InvalidDataException($"{origin}: kpis.{id}.source: '{source}' is not one of {KpiDefinition.FromEvents}, {KpiDefinition.FromConnectors}."),
            };
            if (!known)
            {
                throw new InvalidDataException($"{origin}: kpis.{id}: the engine has no {source} evaluation for this KPI.");
            }
            kpis.Add(new KpiDefinition(id, k.GetProperty("name").GetString()!, k.GetProperty("description").GetString()!,
                k.GetProperty("unit").GetString()!, k.GetProperty("additivity").GetString()!, k.GetProperty("definition").GetString()!,
                k.GetProperty("version").GetInt32(), ParseChanges(k))
            {
                Source = source,
                Events = Strings(k, "events") ?? [],
                GroupBy = Strings(k, "group_by"),
                Filters = Strings(k, "filters"),
            });
        }
        var missing = Enum.GetValues<KpiId>().Select(KpiIds.Name).Except(kpis.Select(k => k.Id)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"{origin}: no definition for {string.Join(", ", missing)}.");
        }
        return new KpiDictionary(root.GetProperty("version").GetInt32(), ParseChanges(root),
            root.GetProperty("rules").EnumerateArray().Select(r => r.GetString()!).ToList(), kpis, json);
    }

    private static List<string>? Strings(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var list) ? [.. list.EnumerateArray().Select(v => v.GetString()!)] : null;

    /// <summary>The connector KPIs (marketing), in dictionary order.</summary>
    public IEnumerable<KpiDefinition> ConnectorKpis => Kpis.Where(k => k.IsConnector);

    private static List<KpiChange> ParseChanges(JsonElement owner) =>
        owner.GetProperty("changes").EnumerateArray()
            .Select(c => new KpiChange(c.GetProperty("version").GetInt32(), c.GetProperty("date").GetString()!, c.GetProperty("reason").GetString()!))
            .ToList();
}
