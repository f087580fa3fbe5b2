using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Quality;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Alerts;

/// <summary>Something a rule found wrong now: the subject within the rule ('' for the rule as a whole), the measured value and the limit.</summary>
internal sealed record Finding(string Subject, double? Value, double? Threshold, string Message);

/// <summary>What one evaluation cycle changed.</summary>
public sealed record CycleReport(int Fired, int Renotified, int Resolved, int Firing, IReadOnlyList<string> Problems);

/// <summary>
/// Evaluates the environment's rules against the hub and keeps the <c>alerts</c> table in step: a
/// new finding fires an alert (once), a finding that lasts re-notifies every
/// <c>renotify_every</c> unless acknowledged, and an alert whose finding is gone resolves. Every
/// notification goes through the outbox in the same transaction as the change that caused it.
/// The clock is injected: tests move time instead of waiting. The alerts and the outbox are the
/// data folder's, or the cluster's in PostgreSQL (<paramref name="rows"/>, <see cref="IAlertRows"/>),
/// and so are the job runs the pipeline and connector rules judge (<paramref name="runs"/>).
/// </summary>
public sealed class AlertEngine(HubDatabase database, KpiEngine kpis, IReadOnlyList<AlertRule> rules, TimeSpan renotifyEvery, TimeProvider? time = null,
    IAlertRows? rows = null, IRunRows? runs = null)
{
    private readonly TimeProvider _time = time ?? kpis.Time;
    private readonly IAlertRows _rows = rows ?? new SqliteAlertRows(database);
    private readonly IRunRows _runs = runs ?? new SqliteRunRows(database);

    /// <summary>The configured rules plus the built-in dead-letter rule (sent to every channel).</summary>
    public static IReadOnlyList<AlertRule> WithBuiltIns(IReadOnlyList<AlertRule> configured, IEnumerable<string> channels) =>
        [.. configured, AlertRule.DeadLetterRule([.. channels])];

    public IReadOnlyList<AlertRule> Rules => rules;

    /// <summary>One cycle: evaluate every rule, then fire, re-notify and resolve.</summary>
    public CycleReport Evaluate()
    {
        var now = _time.GetUtcNow();
        var findings = new Dictionary<(string Rule, string Subject), (AlertRule Rule, Finding Finding)>();
        var evaluated = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var rule in rules)
        {
            try
            {
                foreach (var f in Findings(rule, now))
                {
                    findings[(rule.Name, f.Subject)] = (rule, f);
                }
                evaluated.Add(rule.Name);
            }
            catch (Exception e) when (e is SqliteException or Kpi.Query.KpiQueryException or InvalidOperationException)
            {
                // A rule that cannot be evaluated keeps its alerts as they are (neither fired nor resolved).
                problems.Add($"{rule.Name}: {e.Message}");
            }
        }
        var byName = rules.ToDictionary(r => r.Name, StringComparer.Ordinal);
        var firingBefore = 0;
        AlertChanges? changes = null;
        _rows.Apply(firing =>
        {
            firingBefore = firing.Count;
            return changes = Plan(firing, new Dictionary<(string, string), (AlertRule, Finding)>(findings), evaluated, byName, now);
        });
        var renotified = changes!.Updated.Count(u => u.NotifiedAt is not null);
        return new CycleReport(changes.Fired.Count, renotified, changes.Resolved.Count, firingBefore + changes.Fired.Count - changes.Resolved.Count, problems);
    }

    /// <summary>Acknowledges an alert the reader may see; false when it does not exist or is outside their scope.</summary>
    public bool Acknowledge(string alertId, string actor, AccessScope scope) =>
        _rows.Get(alertId) is { } alert && AlertStore.Visible(alert, scope) && _rows.Ack(alertId, actor, _time.GetUtcNow());

    /// <summary>
    /// What the cycle changes, given the alerts firing now (read in the writing transaction: on a
    /// cluster, a node that takes the evaluation over continues the episodes it finds there, so a
    /// still-firing alert is not fired, nor sent, a second time).
    /// </summary>
    private AlertChanges Plan(IReadOnlyList<Alert> firing, Dictionary<(string Rule, string Subject), (AlertRule Rule, Finding Finding)> findings,
        HashSet<string> evaluated, Dictionary<string, AlertRule> byName, DateTimeOffset now)
    {
        var fired = new List<Alert>();
        var updated = new List<AlertUpdate>();
        var resolved = new List<(string, string)>();
        var messages = new List<(string, Notification)>();
        foreach (var alert in firing)
        {
            if (findings.Remove((alert.Rule, alert.Subject), out var still))
            {
                var due = alert.AckedAt is null && (alert.LastNotifiedAt is not { } last || now - last >= renotifyEvery);
                updated.Add(new AlertUpdate(alert.AlertId, still.Finding.Value, still.Finding.Threshold, still.Finding.Message, due ? now : null));
                if (due)
                {
                    messages.AddRange(Notify(still.Rule, alert with { Value = still.Finding.Value, Message = still.Finding.Message }, "firing", now, reminder: true));
                }
            }
            else if (evaluated.Contains(alert.Rule) || !byName.ContainsKey(alert.Rule))
            {
                var message = byName.ContainsKey(alert.Rule) ? $"Resolved: {alert.Message}" : $"Resolved: the rule {alert.Rule} is no longer configured.";
                resolved.Add((alert.AlertId, message));
                if (byName.TryGetValue(alert.Rule, out var rule))
                {
                    messages.AddRange(Notify(rule, alert with { State = "resolved", ResolvedAt = now, Message = message }, "resolved", now, reminder: false));
                }
            }
        }
        foreach (var ((_, subject), (rule, finding)) in findings)
        {
            var alert = new Alert(AlertStore.NewAlertId(now), rule.Name, subject, AlertRule.SeverityName(rule.Severity), "firing", now, null,
                finding.Value, finding.Threshold, AlertStore.ScopeOf(rule.Scope), finding.Message, null, null, now);
            fired.Add(alert);
            messages.AddRange(Notify(rule, alert, "firing", now, reminder: false));
        }
        return new AlertChanges(now, fired, updated, resolved, messages);
    }

    private static IEnumerable<(string, Notification)> Notify(AlertRule rule, Alert alert, string status, DateTimeOffset now, bool reminder)
    {
        var subject = alert.Subject.Length == 0 ? "" : $" ({alert.Subject})";
        var title = status == "resolved"
            ? $"[RESOLVED] {alert.Rule}{subject}"
            : $"[{alert.Severity.ToUpperInvariant()}] {alert.Rule}{subject}{(reminder ? " still firing" : "")}";
        var notification = new Notification(title, alert.Message)
        {
            Severity = alert.Severity,
            Status = status,
            AlertId = alert.AlertId,
            Rule = alert.Rule,
            Subject = alert.Subject,
            Value = alert.Value is { } v && double.IsFinite(v) ? v : null,
            Threshold = alert.Threshold,
            StartsAt = alert.StartedAt,
            EndsAt = status == "resolved" ? now : null,
        };
        return rule.Channels.Select(channel => (channel, notification));
    }

    /// <summary>What a rule finds wrong now (empty when all is well or there is not enough data to judge).</summary>
    internal IReadOnlyList<Finding> Findings(AlertRule rule, DateTimeOffset now) => rule.Kind switch
    {
        RuleKind.Threshold => Threshold(rule, now),
        RuleKind.RatioToAvg7d => Ratio(rule, now),
        RuleKind.ZScore => ZScore(rule, now),
        RuleKind.PipelineMissed => PipelineMissed(rule, now),
        RuleKind.QualityFailing => QualityFailing(rule),
        RuleKind.ConnectorFailing => ConnectorFailing(rule, now),
        _ => DeadLetters(),
    };

    /// <summary>The rule's KPI over its window ending now and over the same window on each of <paramref name="days"/> days before (oldest first, today last).</summary>
    private IReadOnlyList<double?> SameHours(AlertRule rule, DateTimeOffset now, int days)
    {
        var end = now.ToUnixTimeMilliseconds();
        var window = (long)rule.Window.TotalMilliseconds;
        var windows = new List<(long, long)>();
        for (var d = days; d >= 0; d--)
        {
            var e = end - d * 86_400_000L;
            windows.Add((e - window, e));
        }
        return kpis.Windows(rule.Kpi, windows, rule.Scope, AccessScope.Everything);
    }

    private List<Finding> Threshold(AlertRule rule, DateTimeOffset now)
    {
        var value = SameHours(rule, now, 0)[0];
        var kpi = KpiIds.Name(rule.Kpi);
        var window = Durations.Format(rule.Window);
        if (value is not { } v)
        {
            return [];
        }
        if (rule.Below is { } below && v < below)
        {
            return [new Finding("", v, below, $"{kpi} over the last {window}{Where(rule)} is {N(v)}, below {N(below)}.")];
        }
        if (rule.Above is { } above && v > above)
        {
            return [new Finding("", v, above, $"{kpi} over the last {window}{Where(rule)} is {N(v)}, above {N(above)}.")];
        }
        return [];
    }

    private List<Finding> Ratio(AlertRule rule, DateTimeOffset now)
    {
        var values = SameHours(rule, now, 7);
        var history = values.Take(7).Where(v => v is not null).Select(v => v!.Value).ToList();
        if (values[^1] is not { } today || history.Count == 0 || history.Average() is var avg && avg <= 0)
        {
            return [];
        }
        var ratio = today / avg;
        return ratio < rule.Limit
            ? [new Finding("", ratio, rule.Limit, $"{KpiIds.Name(rule.Kpi)} over the last {Durations.Format(rule.Window)}{Where(rule)} is {N(today)}, {N(ratio * 100)} % of its average over the same hours of the last 7 days ({N(avg)}); the rule fires below {N(rule.Limit * 100)} %.")]
            : [];
    }

    private List<Finding> ZScore(AlertRule rule, DateTimeOffset now)
    {
        var values = SameHours(rule, now, rule.HistoryDays);
        var history = values.Take(rule.HistoryDays).Where(v => v is not null).Select(v => v!.Value).ToList();
        if (values[^1] is not { } today || history.Count < 3)
        {
            return [];
        }
        var mean = history.Average();
        var sd = Math.Sqrt(history.Sum(x => (x - mean) * (x - mean)) / (history.Count - 1));
        if (sd == 0)
        {
            // A flat history gives no scale to judge by; a threshold rule covers that case.
            return [];
        }
        var z = (today - mean) / sd;
        return Math.Abs(z) >= rule.Limit
            ? [new Finding("", z, rule.Limit, $"{KpiIds.Name(rule.Kpi)} over the last {Durations.Format(rule.Window)}{Where(rule)} is {N(today)}: z-score {N(z)} against the same hours of the last {history.Count} days (mean {N(mean)}, sd {N(sd)}).")]
            : [];
    }

    private List<Finding> PipelineMissed(AlertRule rule, DateTimeOffset now)
    {
        var success = _runs.Query(new RunFilter(Job: rule.Target, Status: RunStatus.Success, Limit: 1));
        var last = success.Count == 0 ? (DateTimeOffset?)null : success[0].EndTime ?? success[0].StartTime;
        if (last is { } l && now - l <= rule.MaxAge)
        {
            return [];
        }
        var hours = last is { } t ? (now - t).TotalHours : (double?)null;
        var since = last is { } s ? $"since {PipelineRuns.Iso(s)} ({N(hours!.Value)} h)" : "ever";
        return [new Finding(rule.Target, hours, rule.MaxAge.TotalHours,
            $"The job {rule.Target} has not succeeded {since}; it should every {Durations.Format(rule.MaxAge)}. See `atalaya jobs runs --job {rule.Target}`.")];
    }

    private List<Finding> QualityFailing(AlertRule rule)
    {
        if (QualityResults.LatestRun(database) is not { } run)
        {
            return [];
        }
        return [.. QualityResults.Read(database, run)
            .Where(r => (rule.Target == "*" || r.Check == rule.Target) && r.Status != QualityStatus.Skipped && r.Status >= rule.LeastStatus)
            .Select(r => new Finding($"{r.Check}:{r.Subject}", r.Value, r.Status == QualityStatus.Fail ? r.FailAt : r.WarnAt,
                $"Data-quality check {r.Check} on {r.Subject} is {QualityResult.StatusName(r.Status)}: {r.Message}"))];
    }

    /// <summary>
    /// Connector jobs (named with the rule's prefix) whose runs all failed on each of the last N UTC
    /// days they were due: counted back from today, or from yesterday while today has no run yet.
    /// </summary>
    private List<Finding> ConnectorFailing(AlertRule rule, DateTimeOffset now)
    {
        var days = (int)rule.Limit;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        // Per job and UTC day: whether every finished run failed (a day with a success or a partial run did not).
        var byJob = new Dictionary<string, Dictionary<DateOnly, bool>>(StringComparer.Ordinal);
        foreach (var run in _runs.Query(new RunFilter(From: today.AddDays(-days - 1), Limit: int.MaxValue)))
        {
            if (!run.Job.StartsWith(rule.Target, StringComparison.Ordinal) || run.Status == RunStatus.Running)
            {
                continue;
            }
            var day = DateOnly.FromDateTime(run.StartTime.UtcDateTime);
            var record = byJob.TryGetValue(run.Job, out var d) ? d : byJob[run.Job] = [];
            record[day] = (!record.TryGetValue(day, out var failedSoFar) || failedSoFar) && run.Status is not (RunStatus.Success or RunStatus.Partial);
        }
        var findings = new List<Finding>();
        foreach (var (job, record) in byJob.OrderBy(j => j.Key, StringComparer.Ordinal))
        {
            var day = record.ContainsKey(today) ? today : today.AddDays(-1);
            var run = 0;
            while (record.TryGetValue(day, out var failedAll) && failedAll)
            {
                run++;
                day = day.AddDays(-1);
            }
            if (run >= days)
            {
                findings.Add(new Finding(job, run, days,
                    $"Connector {job} failed every run on {run} consecutive days (the rule fires at {days}). See `atalaya jobs runs --job {job} --status failed`."));
            }
        }
        return findings;
    }

    private List<Finding> DeadLetters()
    {
        var dead = _rows.OutboxCount("dead");
        return dead == 0 ? [] : [new Finding("", dead, 0,
            $"{dead} notification(s) could not be delivered and are in the dead-letter outbox; fix the channel, then run `atalaya notifications replay`.")];
    }

    private static string Where(AlertRule rule) => rule.Scope.IsEmpty ? "" :
        " for " + string.Join(", ", rule.Scope.Values.Select(kv => $"{Dimensions.Name(kv.Key)} {string.Join("/", kv.Value)}"));

    private static string N(double v) => v.ToString(Math.Abs(v) >= 100 ? "0.#" : "0.###", CultureInfo.InvariantCulture);
}
