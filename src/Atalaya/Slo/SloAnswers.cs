using System.Text.Json.Serialization;
using Atalaya.Engine.Slo;
using Atalaya.Http;

namespace Atalaya.Slo;

/// <summary>The answer of <c>GET /api/slo</c>: each objective over the window from..to.</summary>
internal sealed record SloAnswer(string From, string To, IReadOnlyList<SloView> Data);

/// <summary>One objective's attainment and error budget (null without events: nothing to judge).</summary>
internal sealed record SloView(string Slo, string Description, double Objective, double? Attainment, double? ErrorBudgetRemaining, long Good, long Total, bool? Met)
{
    public static SloView Of(SloStatus s) => new(
        s.Objective.Name, s.Objective.Description, s.Objective.Objective, Answers.Number(s.Attainment), Answers.Number(s.ErrorBudgetRemaining), s.Good, s.Total, s.Met);
}

/// <summary>Source-generated JSON of the SLO answer (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SloAnswer))]
internal sealed partial class SloJson : JsonSerializerContext
{
    public static SloJson Web { get; } = new(Answers.Options());
}
