using Atalaya.Cli;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;

namespace Atalaya.Tests.Cli;

/// <summary>docs/events.md and docs/kpis.md are exactly what the embedded catalog and dictionary generate: they cannot drift.</summary>
public sealed class ReferencePagesTests
{
    private static readonly string Docs = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../docs"));

    [Fact]
    public void The_committed_reference_pages_are_the_generated_ones()
    {
        Assert.True(File.ReadAllText(Path.Combine(Docs, "events.md")) == ReferencePages.Events(EventCatalog.Default),
            $"docs/events.md is out of date with the catalog: run `{ReferencePages.Regenerate}`.");
        Assert.True(File.ReadAllText(Path.Combine(Docs, "kpis.md")) == ReferencePages.Kpis(KpiDictionary.Default),
            $"docs/kpis.md is out of date with the dictionary: run `{ReferencePages.Regenerate}`.");
    }

    [Fact]
    public void Every_catalog_type_and_field_and_every_kpi_is_on_its_page()
    {
        var events = ReferencePages.Events(EventCatalog.Default);
        foreach (var type in EventCatalog.Default.Types)
        {
            Assert.Contains($"## {type.Type}\n", events);
            Assert.All(type.Properties, p => Assert.Contains($"`properties.{p.Name}`", events));
        }
        var kpis = ReferencePages.Kpis(KpiDictionary.Default);
        Assert.All(KpiDictionary.Default.Kpis, k => Assert.Contains($"## {k.Id}\n", kpis));
    }
}
