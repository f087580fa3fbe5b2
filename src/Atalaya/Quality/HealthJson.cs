using System.Text.Json;
using Atalaya.Engine.Quality;
using Atalaya.Hosting;

namespace Atalaya.Quality;

/// <summary>
/// Writes the <c>quality</c> member (<see cref="FigureHealthView"/>) into the hand-written KPI answers
/// (Kpi/KpiJson.cs), through the same generated JSON as the typed answers.
/// </summary>
public static class HealthJson
{
    public static void Write(Utf8JsonWriter w, FigureHealth health)
    {
        w.WritePropertyName("quality");
        JsonSerializer.Serialize(w, FigureHealthView.Of(health), AnswerJson.Web.FigureHealthView);
    }
}
