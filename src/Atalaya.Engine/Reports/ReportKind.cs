namespace Atalaya.Engine.Reports;

/// <summary>The three reports: a daily CSV, a weekly and a monthly HTML page.</summary>
public enum ReportKind
{
    Daily,
    Weekly,
    Monthly,
}

public static class ReportKinds
{
    public static readonly ReportKind[] All = Enum.GetValues<ReportKind>();

    public static string Name(ReportKind kind) => kind switch
    {
        ReportKind.Daily => "daily",
        ReportKind.Weekly => "weekly",
        _ => "monthly",
    };

    public static bool TryParse(string? text, out ReportKind kind)
    {
        foreach (var k in All)
        {
            if (string.Equals(Name(k), text, StringComparison.Ordinal))
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }

    /// <summary>The job that produces it on schedule.</summary>
    public static string JobName(ReportKind kind) => "report_" + Name(kind);
}
