using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;

namespace Atalaya.Engine.Alerts;

/// <summary>What a rule watches (docs/alerts.md has one example of each).</summary>
public enum RuleKind
{
    /// <summary>A KPI over a window below and/or above a fixed value.</summary>
    Threshold,

    /// <summary>A KPI over a window divided by its average over the same hours of the 7 days before.</summary>
    RatioToAvg7d,

    /// <summary>A KPI over a window, as standard deviations away from the same hours of the days before.</summary>
    ZScore,

    /// <summary>A job with no successful run within max_age.</summary>
    PipelineMissed,

    /// <summary>A data-quality check whose latest result is fail (or warn).</summary>
    QualityFailing,

    /// <summary>A connector job whose runs all failed on N consecutive days.</summary>
    ConnectorFailing,

    /// <summary>Built in: notifications that could not be delivered are in the dead-letter outbox.</summary>
    DeadLetters,
}

public enum Severity
{
    Info,
    Warning,
    Critical,
}

/// <summary>A validated rule of the environment file.</summary>
public sealed record AlertRule(string Name, RuleKind Kind, Severity Severity, IReadOnlyList<string> Channels)
{
    public KpiId Kpi { get; init; }

    public TimeSpan Window { get; init; } = TimeSpan.FromHours(24);

    public double? Below { get; init; }

    public double? Above { get; init; }

    /// <summary>Ratio, |z| or consecutive days, depending on the kind.</summary>
    public double Limit { get; init; }

    public int HistoryDays { get; init; } = 7;

    public string Target { get; init; } = "";

    public TimeSpan MaxAge { get; init; }

    public QualityStatus LeastStatus { get; init; } = QualityStatus.Fail;

    /// <summary>The rule's dimension filter; it also decides who may see its alerts.</summary>
    public DimensionFilter Scope { get; init; } = DimensionFilter.None;

    /// <summary>The rule that fires while notifications sit in the dead-letter outbox.</summary>
    public static AlertRule DeadLetterRule(IReadOnlyList<string> channels) =>
        new("notifications-dead-lettered", RuleKind.DeadLetters, Severity.Warning, channels) { Limit = 0 };

    internal static string SeverityName(Severity s) => s switch
    {
        Severity.Info => "info",
        Severity.Warning => "warning",
        _ => "critical",
    };

    internal static AlertRule? Compile(AlertsSection.RuleConfig r, string key, List<string> problems)
    {
        var before = problems.Count;
        var severity = r.Severity switch
        {
            "info" => Severity.Info,
            "warning" => Severity.Warning,
            "critical" => Severity.Critical,
            _ => (Severity?)null,
        };
        if (severity is null)
        {
            problems.Add($"{key}.severity: '{r.Severity}' is not info, warning or critical");
        }
        var kinds = new List<RuleKind>();
        if (r.Below is not null || r.Above is not null)
        {
            kinds.Add(RuleKind.Threshold);
        }
        if (r.RatioToAvg7dBelow is not null)
        {
            kinds.Add(RuleKind.RatioToAvg7d);
        }
        if (r.ZscoreAbove is not null)
        {
            kinds.Add(RuleKind.ZScore);
        }
        if (r.Pipeline is not null)
        {
            kinds.Add(RuleKind.PipelineMissed);
        }
        if (r.QualityCheck is not null)
        {
            kinds.Add(RuleKind.QualityFailing);
        }
        if (r.ConnectorFailingDays is not null)
        {
            kinds.Add(RuleKind.ConnectorFailing);
        }
        if (kinds.Count != 1)
        {
            problems.Add($"{key}: a rule needs exactly one of below/above, ratio_to_avg7d_below, zscore_above (with kpi), pipeline (with max_age), quality_check, connector_failing_days; found {(kinds.Count == 0 ? "none" : string.Join(", ", kinds))}");
            return null;
        }
        var kind = kinds[0];
        var rule = new AlertRule(r.Name, kind, severity ?? Severity.Warning, r.Channels) { Scope = Filter(r.Scope, key, problems) };
        var isKpi = kind is RuleKind.Threshold or RuleKind.RatioToAvg7d or RuleKind.ZScore;
        if (isKpi)
        {
            if (r.Kpi is null || !KpiIds.TryParse(r.Kpi, out var kpi))
            {
                problems.Add($"{key}.kpi: '{r.Kpi}' is not a KPI id (see docs/kpis.md, e.g. gmv, orders, revenue, leads, payments_success_rate)");
                return null;
            }
            var window = Durations.Parse(r.Window);
            if (window is not { } w || w < TimeSpan.FromMinutes(1) || w > TimeSpan.FromDays(31))
            {
                problems.Add($"{key}.window: '{r.Window}' must be a duration from 1m to 31d (e.g. 1h, 24h)");
                return null;
            }
            if (kind is RuleKind.RatioToAvg7d or RuleKind.ZScore && w > TimeSpan.FromDays(1))
            {
                problems.Add($"{key}.window: compared with the same hours of earlier days, the window can be at most 24h, got {r.Window}");
            }
            rule = rule with { Kpi = kpi, Window = w };
        }
        else if (r.Kpi is not null || r.Scope.Count > 0)
        {
            problems.Add($"{key}: kpi and scope apply only to KPI rules (below/above, ratio_to_avg7d_below, zscore_above)");
        }
        switch (kind)
        {
            case RuleKind.Threshold:
                if (r.Below is { } b && r.Above is { } a && b > a)
                {
                    problems.Add($"{key}: below ({b.ToString(CultureInfo.InvariantCulture)}) is above above ({a.ToString(CultureInfo.InvariantCulture)}); nothing could be normal");
                }
                rule = rule with { Below = r.Below, Above = r.Above };
                break;
            case RuleKind.RatioToAvg7d:
                if (r.RatioToAvg7dBelow is not (> 0 and <= 10))
                {
                    problems.Add($"{key}.ratio_to_avg7d_below: must be above 0 (e.g. 0.7 for 30 % below the week's average), got {r.RatioToAvg7dBelow}");
                }
                rule = rule with { Limit = r.RatioToAvg7dBelow ?? 0 };
                break;
            case RuleKind.ZScore:
                if (r.ZscoreAbove is not (> 0 and <= 100))
                {
                    problems.Add($"{key}.zscore_above: must be above 0 (e.g. 3), got {r.ZscoreAbove}");
                }
                if (r.ZscoreDays is < 3 or > 90)
                {
                    problems.Add($"{key}.zscore_days: must be from 3 to 90, got {r.ZscoreDays}");
                }
                rule = rule with { Limit = r.ZscoreAbove ?? 0, HistoryDays = r.ZscoreDays };
                break;
            case RuleKind.PipelineMissed:
                if (Durations.Parse(r.MaxAge) is not { } age || age <= TimeSpan.Zero)
                {
                    problems.Add($"{key}.max_age: '{r.MaxAge}' must be a duration such as 26h (how long the job may go without a successful run)");
                    break;
                }
                rule = rule with { Target = r.Pipeline!, MaxAge = age };
                break;
            case RuleKind.QualityFailing:
                if (r.QualityCheck != "*" && !QualityResults.Checks.Contains(r.QualityCheck))
                {
                    problems.Add($"{key}.quality_check: '{r.QualityCheck}' is not a check; use * or one of {string.Join(", ", QualityResults.Checks)}");
                }
                if (r.QualityStatus is not ("fail" or "warn"))
                {
                    problems.Add($"{key}.quality_status: '{r.QualityStatus}' must be fail or warn");
                }
                rule = rule with { Target = r.QualityCheck!, LeastStatus = r.QualityStatus == "warn" ? QualityStatus.Warn : QualityStatus.Fail };
                break;
            case RuleKind.ConnectorFailing:
                if (r.ConnectorFailingDays is not (>= 1 and <= 30))
                {
                    problems.Add($"{key}.connector_failing_days: must be from 1 to 30, got {r.ConnectorFailingDays}");
                }
                if (string.IsNullOrWhiteSpace(r.Connector))
                {
                    problems.Add($"{key}.connector: the job name prefix must not be empty");
                }
                rule = rule with { Limit = r.ConnectorFailingDays ?? 2, Target = r.Connector };
                break;
        }
        return problems.Count == before ? rule : null;
    }

    private static DimensionFilter Filter(Dictionary<string, string> scope, string key, List<string> problems)
    {
        if (scope.Count == 0)
        {
            return DimensionFilter.None;
        }
        var values = new Dictionary<Dimension, IReadOnlyList<string>>();
        foreach (var (name, list) in scope)
        {
            if (!Dimensions.TryParse(name, out var dimension))
            {
                problems.Add($"{key}.scope.{name}: not a dimension; use one of {Dimensions.AllowedNames}");
                continue;
            }
            var items = (list ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (items.Length == 0)
            {
                problems.Add($"{key}.scope.{name}: needs one or more values (a comma list)");
                continue;
            }
            values[dimension] = items;
        }
        return new DimensionFilter(values);
    }
}
