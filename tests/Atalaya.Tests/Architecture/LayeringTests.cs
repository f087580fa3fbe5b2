namespace Atalaya.Tests.Architecture;

/// <summary>
/// Keeps the folder graphs of docs/architecture.md true: reads the compiled engine and host and
/// fails on any reference from a folder to one beside or above it that <see cref="Layering"/> does
/// not list as a known exception.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string EngineAssembly = typeof(Engine.Hub).Assembly.Location;
    private static readonly string HostAssembly = typeof(Hosting.HubHost).Assembly.Location;

    [Fact]
    public void Engine_folders_name_only_folders_below_them() =>
        AssertLayered(Layering.Engine, EngineAssembly);

    [Fact]
    public void Host_folders_name_only_folders_below_them() =>
        AssertLayered(Layering.Host, HostAssembly);

    [Fact]
    public void Every_engine_and_host_folder_has_a_layer()
    {
        Assert.Empty(Layering.Engine.Unplaced(NamespaceReferences.Namespaces(EngineAssembly)));
        Assert.Empty(Layering.Host.Unplaced(NamespaceReferences.Namespaces(HostAssembly)));
    }

    [Fact]
    public void Every_known_exception_is_still_needed()
    {
        Assert.Empty(Layering.Engine.UnusedExceptions(NamespaceReferences.Read(EngineAssembly, "Atalaya.Engine")));
        Assert.Empty(Layering.Host.UnusedExceptions(NamespaceReferences.Read(HostAssembly, "Atalaya")));
    }

    [Fact]
    public void An_upward_reference_inside_a_lambda_is_a_violation_and_a_downward_one_is_not()
    {
        var sample = new Layering("Atalaya.Tests.Architecture.Sample", [["Low"], ["High"]], []);
        var edges = NamespaceReferences.Read(typeof(LayeringTests).Assembly.Location, sample.Root);

        var violation = Assert.Single(sample.Violations(edges));

        Assert.StartsWith("Low -> High: Atalaya.Tests.Architecture.Sample.Low.LowFolder+", violation, StringComparison.Ordinal);
        Assert.EndsWith("uses Atalaya.Tests.Architecture.Sample.High.HighFolder", violation, StringComparison.Ordinal);
        Assert.Contains(edges, e => e.From.EndsWith(".High", StringComparison.Ordinal) && e.To.EndsWith(".Low", StringComparison.Ordinal));
    }

    [Fact]
    public void The_reader_sees_references_in_signatures_bodies_and_the_host()
    {
        var engine = NamespaceReferences.Read(EngineAssembly, "Atalaya.Engine");
        var host = NamespaceReferences.Read(HostAssembly, "Atalaya");

        Assert.Contains(Uses(engine), u => u == ("Atalaya.Engine.Hub", "Atalaya.Engine.Kpi.KpiEngine"));
        Assert.Contains(Uses(engine), u => u == ("Atalaya.Engine.Alerts.AlertEngine", "Atalaya.Engine.Storage.HubDatabase"));
        Assert.Contains(Uses(host), u => u == ("Atalaya.Hosting.HubHost", "Atalaya.Kpi.KpiEndpoints"));
        Assert.Contains(Uses(host), u => u.From.StartsWith("Atalaya.Kpi.", StringComparison.Ordinal) && u.To == "Atalaya.Engine.Kpi.KpiEngine");
    }

    private static IEnumerable<(string From, string To)> Uses(IReadOnlyList<NamespaceReferences.Edge> edges) =>
        edges.SelectMany(e => e.Uses).Select(u => (u.FromType, u.ToType));

    private static void AssertLayered(Layering layering, string assembly)
    {
        var violations = layering.Violations(NamespaceReferences.Read(assembly, layering.Root));
        Assert.True(violations.Count == 0,
            $"{violations.Count} references go sideways or upward in {Path.GetFileName(assembly)} (docs/architecture.md: move the type down to a folder both can name, or move the user up):\n"
            + string.Join("\n", violations));
    }
}
