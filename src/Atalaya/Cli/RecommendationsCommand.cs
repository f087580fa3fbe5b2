using System.CommandLine;
using System.Globalization;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Recommendations;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya recommendations evaluate</c>: generates demo data with planted pairs, learns from the
/// first days and measures hit rate@10 and NDCG@10 on the last ones against the popularity
/// baseline, then checks the planted pairs are found (docs/recommendations.md).
/// </summary>
public static class RecommendationsCommand
{
    public static Command Create()
    {
        var days = new Option<int>("--days") { Description = "Days of generated history in all.", DefaultValueFactory = _ => 56, HelpName = "N" };
        var testDays = new Option<int>("--test-days") { Description = "The last N days are held out: the model learns from the days before.", DefaultValueFactory = _ => 7, HelpName = "N" };
        var seed = new Option<int>("--seed") { Description = "Random seed of the generator.", DefaultValueFactory = _ => 42, HelpName = "S" };
        var end = new Option<DateOnly>("--end") { Description = "Last generated day (fixed by default, so the figures repeat).", DefaultValueFactory = _ => new DateOnly(2026, 11, 30), HelpName = "DATE" };
        var sessions = new Option<int>("--sessions-per-day") { Description = "Average sessions a day.", DefaultValueFactory = _ => 1200, HelpName = "N" };
        var lift = new Option<bool>("--lift") { Description = "Rank neighbours by lift instead of cosine (for comparison; the server ranks by cosine)." };
        var evaluate = new Command("evaluate", "Time-split holdout on generated data with planted pairs: hit rate@10 and NDCG@10 of the model vs the popularity baseline.")
        {
            days, testDays, seed, end, sessions, lift,
        };
        evaluate.SetAction(parse =>
        {
            var (d, t, s) = (parse.GetValue(days), parse.GetValue(testDays), parse.GetValue(sessions));
            if (d is < 2 or > 730)
            {
                return CommonOptions.Fail("--days must be between 2 and 730.");
            }
            if (t < 1 || t >= d)
            {
                return CommonOptions.Fail($"--test-days must be at least 1 and less than --days ({d}).");
            }
            if (s is < 1 or > 1_000_000)
            {
                return CommonOptions.Fail("--sessions-per-day must be between 1 and 1000000.");
            }
            var options = new DemoOptions(d, parse.GetValue(seed), parse.GetValue(end), s, PlantedPairs: true);
            var split = new DateTimeOffset(parse.GetValue(end).AddDays(1 - t).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var events = DemoGenerator.Generate(options).ToList();
            Console.WriteLine($"{events.Count:N0} generated events (seed {options.Seed}, {d} days to {options.EndDate:yyyy-MM-dd}); learning before {split:yyyy-MM-dd}, testing the last {t} days.");
            Console.WriteLine();
            var rows = RecommendationEvaluation.Run(events, split, rankByLift: parse.GetValue(lift));
            TextTable.Print(["kind", "cases", "skipped", "hit@10 model", "hit@10 popular", "ndcg@10 model", "ndcg@10 popular"],
                rows.Select(r => (IReadOnlyList<string>)[r.Kind, N(r.Cases), N(r.Skipped), F(r.ModelHitRate), F(r.BaselineHitRate), F(r.ModelNdcg), F(r.BaselineNdcg)]));

            var model = RecommendationModel.FromEvents(events);
            var recall = RecommendationEvaluation.PlantedRecall(model, DemoGenerator.PlantedPairs(options), split);
            Console.WriteLine();
            foreach (var (kind, (found, known)) in recall.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"planted {kind} pairs found in the top 10 (all {d} days): {found} of {known} ({100.0 * found / Math.Max(1, known):F1} %)");
            }
            var size = model.Size();
            Console.WriteLine($"model: {size.Products:N0} products, {size.OpenSessions:N0} open sessions, {size.OpenOrders:N0} open orders, {size.People:N0} people; about {size.EstimatedBytes / 1048576.0:F1} MB");
            return 0;
        });
        return new Command("recommendations", "The storefront recommendation model.") { evaluate };
    }

    private static string N(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}
