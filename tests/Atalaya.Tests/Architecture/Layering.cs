namespace Atalaya.Tests.Architecture;

/// <summary>
/// An assembly's intended folder graph: its folders (namespaces under <see cref="Root"/>) in layers,
/// bottom first. A folder may name types of its own folder and of folders in lower layers only;
/// folders of one layer do not name each other. Sub-namespaces belong to the folder they are under
/// (Kpi.Query is Kpi) unless declared themselves (Jobs.Marts). The root namespace itself ("") is a
/// folder like the others. docs/architecture.md draws these graphs.
/// </summary>
internal sealed record Layering(string Root, IReadOnlyList<IReadOnlyList<string>> Layers, IReadOnlyList<LayerException> Exceptions)
{
    /// <summary>
    /// The engine: storage, the event catalog and the configuration at the bottom; collection and
    /// the KPI engine above access; jobs and the features that schedule jobs above those; the hub
    /// (Hub, JobCatalog) on top, because it assembles them all.
    /// </summary>
    public static readonly Layering Engine = new("Atalaya.Engine",
    [
        ["Storage", "Catalog", "Config", "ClickHouse", "Queue", "Postgres"],
        ["Access", "Audit"],
        ["Collect"],
        ["Kpi"],
        ["Jobs"],
        ["Jobs.Marts", "Connectors", "Recommendations", "Slo"],
        ["Quality", "Cluster"],
        ["Alerts"],
        ["Reports", "Privacy", "Webhooks", "Demo"],
        [""],
    ],
    [
    ]);

    /// <summary>
    /// The host: shared HTTP plumbing (Http) at the bottom, access control above it, the metrics
    /// (which read through access) above that, the features above those (Kpi above Connectors,
    /// whose marketing answers it serves), then Hosting, which maps every feature, the CLI, which
    /// starts Hosting, and Program.
    /// </summary>
    public static readonly Layering Host = new("Atalaya",
    [
        ["Http", "Dashboard"],
        ["Access"],
        ["Metrics"],
        ["Collect", "Connectors", "Quality", "Jobs", "Alerts", "Reports", "Privacy", "Recommendations", "Slo", "Webhooks", "Health", "Cluster"],
        ["Kpi"],
        ["Hosting"],
        ["Cli"],
        [""],
    ],
    [
    ]);

    /// <summary>The folder a namespace belongs to, or null when it is not under the root or no layer holds it.</summary>
    public string? FolderOf(string ns)
    {
        if (ns == Root)
        {
            return "";
        }
        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }
        var rest = ns[(Root.Length + 1)..];
        return Layers.SelectMany(l => l)
            .Where(f => f.Length > 0 && (rest == f || rest.StartsWith(f + ".", StringComparison.Ordinal)))
            .OrderByDescending(f => f.Length)
            .FirstOrDefault();
    }

    public int LayerOf(string folder)
    {
        for (var i = 0; i < Layers.Count; i++)
        {
            if (Layers[i].Contains(folder))
            {
                return i;
            }
        }
        throw new ArgumentException($"'{folder}' is in no layer", nameof(folder));
    }

    /// <summary>Every reference that goes sideways or upward and no exception allows, as "From -> To: type uses type".</summary>
    public IReadOnlyList<string> Violations(IReadOnlyList<NamespaceReferences.Edge> edges) =>
    [
        .. from e in Folders(edges)
           where LayerOf(e.ToFolder) >= LayerOf(e.FromFolder)
           from use in e.Edge.Uses
           where !Exceptions.Any(x => x.Allows(e.FromFolder, e.ToFolder, use.ToType))
           select $"{Show(e.FromFolder)} -> {Show(e.ToFolder)}: {use.FromType} uses {use.ToType}",
    ];

    /// <summary>The exceptions that no reference needs any more (remove them).</summary>
    public IReadOnlyList<LayerException> UnusedExceptions(IReadOnlyList<NamespaceReferences.Edge> edges)
    {
        var crossings = Folders(edges).ToList();
        return [.. Exceptions.Where(x => !crossings.Any(e => e.Edge.Uses.Any(u => x.Allows(e.FromFolder, e.ToFolder, u.ToType))))];
    }

    /// <summary>The namespaces (of the types an assembly defines) under the root that no layer places.</summary>
    public IReadOnlyList<string> Unplaced(IEnumerable<string> namespaces) =>
        [.. namespaces.Where(ns => (ns == Root || ns.StartsWith(Root + ".", StringComparison.Ordinal)) && FolderOf(ns) is null)];

    private IEnumerable<(string FromFolder, string ToFolder, NamespaceReferences.Edge Edge)> Folders(IReadOnlyList<NamespaceReferences.Edge> edges) =>
        from e in edges
        let fromFolder = FolderOf(e.From)
        let toFolder = FolderOf(e.To)
        where fromFolder is not null && toFolder is not null && fromFolder != toFolder
        select (fromFolder, toFolder, e);

    private static string Show(string folder) => folder.Length == 0 ? "(root)" : folder;
}

/// <summary>
/// A known reference against the layering, allowed only from folder <paramref name="From"/> to the type
/// <paramref name="Type"/> (and the types nested in it), with why it is there and how it goes away.
/// </summary>
internal sealed record LayerException(string From, string To, string Type, string Reason)
{
    public const string AnyFolder = "*";

    public bool Allows(string from, string to, string type) =>
        (From == AnyFolder || From == from) && To == to && (type == Type || type.StartsWith(Type + "+", StringComparison.Ordinal));
}
