namespace Atalaya.Tests.Dashboard;

/// <summary>The browser tests share one hub and one Chromium and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "Dashboards in Chromium";
}
