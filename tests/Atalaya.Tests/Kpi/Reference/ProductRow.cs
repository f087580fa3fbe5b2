namespace Atalaya.Tests.Kpi.Reference;

/// <summary>One product of <c>/api/analysis/top-products</c>.</summary>
public sealed record ProductRow(string ProductId, string? ProductName, string StoreId, double Revenue, double Units, int Orders, int Views);
