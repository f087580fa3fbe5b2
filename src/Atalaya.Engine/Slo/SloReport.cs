using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Slo;

/// <summary>
/// The monthly SLO validation (seed 000): each objective's attainment over a calendar month (UTC),
/// appended as one JSON line to <c>slo-validation.log</c> in the data folder, so the log is the
/// record of every month that was validated and when.
/// </summary>
public static class SloReport
{
    public const string LogFileName = "slo-validation.log";

    public static (IReadOnlyList<SloStatus> Statuses, string Line) Append(HubDatabase database, int year, int month, DateTimeOffset now) =>
        Append(database, SloRows.Of(database, null), year, month, now);

    /// <summary>The month's counts from <paramref name="counts"/> (a cluster's, in PostgreSQL), the line in the data folder's log.</summary>
    public static (IReadOnlyList<SloStatus> Statuses, string Line) Append(HubDatabase database, ISloRows counts, int year, int month, DateTimeOffset now)
    {
        var from = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
        var statuses = counts.Status(from, from.AddMonths(1));
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("month", from.ToString("yyyy-MM", CultureInfo.InvariantCulture));
            w.WriteString("validated_at", Jobs.PipelineRuns.Iso(now));
            w.WriteBoolean("complete", now >= from.AddMonths(1));
            w.WriteStartArray("slos");
            foreach (var s in statuses)
            {
                Write(w, s, withDescription: false);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        var line = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        File.AppendAllText(Path.Combine(database.DataDirectory, LogFileName), line + "\n");
        return (statuses, line);
    }

    /// <summary>One objective's status as an object: the log line and <c>GET /api/slo</c> write it alike.</summary>
    public static void Write(Utf8JsonWriter w, SloStatus s, bool withDescription)
    {
        w.WriteStartObject();
        w.WriteString("slo", s.Objective.Name);
        if (withDescription)
        {
            w.WriteString("description", s.Objective.Description);
        }
        w.WriteNumber("objective", s.Objective.Objective);
        Number(w, "attainment", s.Attainment);
        Number(w, "error_budget_remaining", s.ErrorBudgetRemaining);
        w.WriteNumber("good", s.Good);
        w.WriteNumber("total", s.Total);
        if (s.Met is { } met)
        {
            w.WriteBoolean("met", met);
        }
        else
        {
            w.WriteNull("met");
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, Kpi.KpiValues.Clean(v));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
