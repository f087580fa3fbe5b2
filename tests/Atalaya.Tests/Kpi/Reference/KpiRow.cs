namespace Atalaya.Tests.Kpi.Reference;

/// <summary>One row of a <c>/api/kpi/query</c> answer.</summary>
public sealed record KpiRow(string Metric, string Period, GroupKey Group, double? Value)
{
    public override string ToString() => $"{Metric} {Period} {Group} = {(Value is { } v ? v.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "null")}";
}
