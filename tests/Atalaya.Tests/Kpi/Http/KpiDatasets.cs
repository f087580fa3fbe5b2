using Atalaya.Engine.Demo;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>
/// The hubs the conformance tests query, started once for the collection:
/// two generated marketplaces (different seeds; one across Stockholm's spring change, a month end
/// and an ISO week boundary, one across Santiago's autumn change), the explicit edge cases, a hub
/// holding one event, and an empty hub. Generated data is imported before its server starts; the
/// explicit events are posted over HTTP in batches.
/// </summary>
public sealed class KpiDatasets : IAsyncLifetime
{
    public const string Stockholm = "Europe/Stockholm";
    public const string Santiago = "America/Santiago";

    private readonly Dictionary<string, KpiDataset> _datasets = new(StringComparer.Ordinal);

    public KpiDataset this[string name] => _datasets[name];

    public IEnumerable<KpiDataset> All => _datasets.Values;

    /// <summary>(dataset, tz) pairs the matrix runs, for theory data.</summary>
    public static readonly IReadOnlyList<(string Dataset, string Tz)> Zones =
    [
        ("demo-a", "UTC"), ("demo-a", Stockholm), ("demo-b", "UTC"), ("demo-b", Santiago),
        ("edge", "UTC"), ("edge", Stockholm), ("edge", Santiago), ("ledger", "UTC"), ("ledger", Stockholm), ("ledger", Santiago), ("one", "UTC"), ("one", Stockholm), ("empty", "UTC"),
    ];

    public async Task InitializeAsync()
    {
        var demoA = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 5, Seed: 11, EndDate: new DateOnly(2026, 4, 1), SessionsPerDay: 80));
        Add(new KpiDataset("demo-a", demoA,
            [QueryWindow.Of("UTC", "2026-03-26", "2026-04-01", "2026-03-29"), QueryWindow.Of(Stockholm, "2026-03-26", "2026-04-01", "2026-03-29")],
            [DimensionFilters.None, DimensionFilters.Of(("country", ["MX"])), DimensionFilters.Of(("platform", ["web", "ios"]))],
            KpiDataset.AllGroupBys));

        var demoB = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 4, Seed: 12, EndDate: new DateOnly(2026, 4, 6), SessionsPerDay: 60));
        Add(new KpiDataset("demo-b", demoB,
            [QueryWindow.Of("UTC", "2026-04-02", "2026-04-06", "2026-04-04"), QueryWindow.Of(Santiago, "2026-04-02", "2026-04-06", "2026-04-04")],
            [DimensionFilters.None, DimensionFilters.Of(("country", ["CL"])), DimensionFilters.Of(("source", ["google", "direct"]))],
            KpiDataset.AllGroupBys));

        var edge = await KpiHub.StartEmptyAsync();
        foreach (var batch in EdgeDataset.Batches())
        {
            await edge.PostAsync(batch);
        }
        Add(new KpiDataset("edge", edge,
            [
                QueryWindow.Of("UTC", "2026-03-26", "2026-03-31", "2026-03-29"), QueryWindow.Of("UTC", "2026-10-23", "2026-10-26", "2026-10-25"),
                QueryWindow.Of(Stockholm, "2026-03-26", "2026-03-31", "2026-03-29"), QueryWindow.Of(Stockholm, "2026-10-23", "2026-10-26", "2026-10-25"),
                QueryWindow.Of(Santiago, "2026-04-03", "2026-04-06", "2026-04-04"), QueryWindow.Of(Santiago, "2026-09-04", "2026-09-07", "2026-09-06"),
            ],
            [DimensionFilters.None, DimensionFilters.Of(("country", ["MX"])), DimensionFilters.Of(("source", ["google", "direct"]))],
            KpiDataset.AllGroupBys));

        var ledger = await KpiHub.StartEmptyAsync();
        foreach (var batch in LedgerDataset.Batches())
        {
            await ledger.PostAsync(batch);
        }
        Add(new KpiDataset("ledger", ledger,
            [
                QueryWindow.Of("UTC", "2026-03-01", "2026-04-30", "2026-04-01"), QueryWindow.Of(Stockholm, "2026-03-01", "2026-04-30", "2026-03-29"),
                QueryWindow.Of(Santiago, "2026-03-01", "2026-04-30", "2026-04-05"),
            ],
            [DimensionFilters.None, DimensionFilters.Of(("country", ["CO"])), DimensionFilters.Of(("store_id", ["st-mx", "st-co"]))],
            KpiDataset.AllGroupBys));

        var one = await KpiHub.StartEmptyAsync();
        await one.PostAsync([new EventBuilder("one").Order("2026-03-02T10:00:00Z", "o-1", "st-1", "u-1", "s-1")]);
        IReadOnlyList<string[]> few = [[], ["country"], ["country", "platform"]];
        Add(new KpiDataset("one", one,
            [QueryWindow.Of("UTC", "2026-03-01", "2026-03-03", "2026-03-02"), QueryWindow.Of(Stockholm, "2026-03-01", "2026-03-03", "2026-03-02")],
            [DimensionFilters.None, DimensionFilters.Of(("country", ["MX"])), DimensionFilters.Of(("country", ["SE"]))],
            few));

        var empty = await KpiHub.StartEmptyAsync();
        Add(new KpiDataset("empty", empty, [QueryWindow.Of("UTC", "2026-03-01", "2026-03-03", "2026-03-02")],
            [DimensionFilters.None, DimensionFilters.Of(("country", ["MX", "CO"]))], few));
    }

    private void Add(KpiDataset dataset) => _datasets.Add(dataset.Name, dataset);

    public async Task DisposeAsync()
    {
        foreach (var dataset in _datasets.Values)
        {
            await dataset.Hub.DisposeAsync();
        }
    }
}
