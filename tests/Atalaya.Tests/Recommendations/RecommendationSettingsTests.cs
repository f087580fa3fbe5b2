using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Recommendations;

/// <summary>The recommendation settings and command: a bad scope stops the start, the evaluation command checks its options and runs.</summary>
public sealed class RecommendationSettingsTests
{
    private static string Dev => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "config", "environments", "dev.yaml"));

    [Fact]
    public void The_scope_is_store_by_default_marketplace_when_set_and_anything_else_is_refused()
    {
        Assert.False(EnvironmentFiles.Parse(Dev, "dev.yaml", "dev").Recommendations.Marketplace);
        Assert.True(EnvironmentFiles.Parse(Dev.Replace("scope: store", "scope: marketplace", StringComparison.Ordinal), "dev.yaml", "dev").Recommendations.Marketplace);
        var error = Assert.Throws<ConfigException>(() => EnvironmentFiles.Parse(Dev.Replace("scope: store", "scope: galaxy", StringComparison.Ordinal), "dev.yaml", "dev"));
        Assert.Contains("recommendations.scope: must be store or marketplace, got 'galaxy'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_evaluate_command_refuses_a_bad_split_and_prints_the_model_against_the_baseline()
    {
        var (code, _, stderr) = await AtalayaProcess.RunAsync("recommendations", "evaluate", "--days", "7", "--test-days", "7");
        Assert.Equal(2, code);
        Assert.Contains("--test-days", stderr, StringComparison.Ordinal);

        (code, var stdout, _) = await AtalayaProcess.RunAsync("recommendations", "evaluate", "--days", "10", "--test-days", "3", "--sessions-per-day", "150");
        Assert.Equal(0, code);
        foreach (var expected in new[] { "bought_together", "viewed_together", "for_you", "ndcg@10 popular", "planted viewed_together pairs found" })
        {
            Assert.Contains(expected, stdout, StringComparison.Ordinal);
        }
    }
}
