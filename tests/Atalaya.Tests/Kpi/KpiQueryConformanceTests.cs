using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// <c>/api/kpi/query</c> against the reference, for every KPI (all asked at once) × aggregate × group_by
/// (none, each dimension, one pair) × filters (none, one value, a comma list) × zone (UTC and a DST
/// zone), on every dataset. One theory case per dataset, aggregate and zone; it runs all its
/// combinations and reports every one that differs, with its first differing rows.
/// </summary>
[Collection(KpiCollection.Name)]
public sealed class KpiQueryConformanceTests(KpiDatasets datasets)
{
    public static readonly string[] Aggregates = ["hourly", "daily", "weekly", "monthly", "total"];

    public static TheoryData<string, string, string> Combinations()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (dataset, tz) in KpiDatasets.Zones)
        {
            foreach (var aggregate in Aggregates)
            {
                data.Add(dataset, aggregate, tz);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_kpi_answer_equals_the_reference(string dataset, string aggregate, string tz)
    {
        var d = datasets[dataset];
        var failures = new List<string>();
        var queries = 0;
        foreach (var query in d.Queries(aggregate, tz))
        {
            var answer = await d.Hub.Api.QueryAsync(query);
            var differences = KpiComparison.Differences(KpiReference.Query(d.Hub.Reference, query), answer, query);
            if (differences.Count > 0)
            {
                failures.Add(KpiComparison.Describe($"[{dataset}] {query}", differences));
            }
            queries++;
        }

        Assert.True(queries > 0, "no query ran");
        Assert.True(failures.Count == 0, $"{failures.Count} of {queries} queries differ from the reference:\n" + string.Join("\n", failures.Take(25)));
    }

    [Fact]
    public void The_generated_and_explicit_datasets_give_every_kpi_a_value_other_than_zero_or_null()
    {
        var lacking = KpiFormulas.Ids.Where(metric => !datasets.All
            .Where(d => d.Name is "demo-a" or "edge" or "ledger")
            .SelectMany(d => d.Windows.Select(w => KpiReference.Query(d.Hub.Reference, new KpiQuery(w.Start, w.End, "daily", w.Tz) { Metrics = [metric] })))
            .SelectMany(rows => rows)
            .Any(row => row.Value is not (null or 0)))
            .ToList();

        Assert.Empty(lacking);
    }

    [Fact]
    public void The_matrix_asks_each_dataset_many_distinct_queries()
    {
        var perDataset = datasets.All.ToDictionary(d => d.Name,
            d => Aggregates.SelectMany(a => KpiDatasets.Zones.Where(z => z.Dataset == d.Name).SelectMany(z => d.Queries(a, z.Tz))).Select(q => q.ToQueryString()).Distinct(StringComparer.Ordinal).Count());

        Assert.Equal(2 * Aggregates.Length * 12 * 3, perDataset["demo-a"]);
        Assert.Equal(6 * Aggregates.Length * 12 * 3, perDataset["edge"]);
        Assert.Equal(3 * Aggregates.Length * 12 * 3, perDataset["ledger"]);
    }
}
