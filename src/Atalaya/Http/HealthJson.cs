using System.Text.Json;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;

namespace Atalaya.Http;

/// <summary>
/// The <c>quality</c> member of every KPI answer (docs/metrics-api.md, docs/quality.md): the state of
/// the data the figures were computed from, as the newest data-quality run found it, limited to
/// the caller's scope.
/// </summary>
public static class HealthJson
{
    public static void Write(Utf8JsonWriter w, FigureHealth health)
    {
        w.WriteStartObject("quality");
        w.WriteString("state", FigureHealth.Name(health.State));
        Time(w, "checked_at", health.CheckedAt);
        if (health.RunId is { } run)
        {
            w.WriteString("run_id", run);
        }
        else
        {
            w.WriteNull("run_id");
        }
        Time(w, "stale_since", health.StaleSince);
        w.WriteStartArray("findings");
        foreach (var f in health.Findings)
        {
            w.WriteStartObject();
            w.WriteString("check", f.Check);
            w.WriteString("subject", f.Subject);
            if (f.Country is { } country)
            {
                w.WriteString("country", country);
            }
            else
            {
                w.WriteNull("country");
            }
            w.WriteString("status", QualityResult.StatusName(f.Status));
            w.WriteString("detail", f.Detail);
            Time(w, "since", f.Since);
            w.WriteStartArray("metrics");
            foreach (var m in f.Metrics)
            {
                w.WriteStringValue(m);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Time(Utf8JsonWriter w, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            w.WriteString(name, PipelineRuns.Iso(t));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
