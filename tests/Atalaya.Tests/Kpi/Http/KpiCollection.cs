namespace Atalaya.Tests.Kpi.Http;

/// <summary>The KPI conformance tests share their hubs and run one after another (the machine has two cores).</summary>
[CollectionDefinition(Name)]
public sealed class KpiCollection : ICollectionFixture<KpiDatasets>
{
    public const string Name = "KPI conformance";
}
