namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>
/// A store's KPI beside the distribution of comparable stores (same category and country). The
/// distribution is given only when at least k other stores contribute a value, so that no single
/// competitor can be singled out; below that only the store's own figure is answered.
/// </summary>
public sealed record PeerBenchmark(
    string StoreId, string? Country, string? Category, double? Value,
    int Peers, int MinimumPeers, double? P25, double? Median, double? P75)
{
    public bool Available => P25 is not null;

    /// <summary>Quartiles with linear interpolation between closest ranks (as NumPy's default).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        var position = (sorted.Count - 1) * q;
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
    }
}
