using Atalaya.Engine.Config;

namespace Atalaya.Engine.Alerts;

/// <summary>
/// The alert rules of an environment file, compiled. The configuration folder reads the
/// <c>alerts:</c> section and checks its shape; the rules' conditions name KPIs, which only this
/// feature knows, so they are compiled here and checked at load through <see cref="Check"/>
/// (Atalaya.Engine.EnvironmentFiles passes it), so that a bad rule is still reported with every other
/// configuration problem.
/// </summary>
public static class AlertRuleSet
{
    /// <summary>The rules of <paramref name="config"/>; a configuration read through Environments has been checked already.</summary>
    public static IReadOnlyList<AlertRule> Compile(EnvironmentConfig config)
    {
        var problems = new List<string>();
        var rules = Compile(config.Alerts, problems);
        return problems.Count == 0 ? rules : throw new ConfigException($"{config.Source}: " + string.Join("; ", problems));
    }

    /// <summary>The <see cref="EnvironmentConfig.SectionCheck"/> of the alerts section.</summary>
    public static void Check(EnvironmentConfig config, List<string> problems) => Compile(config.Alerts, problems);

    private static List<AlertRule> Compile(AlertsSection section, List<string> problems)
    {
        var rules = new List<AlertRule>();
        for (var i = 0; i < section.Rules.Count; i++)
        {
            if (AlertRule.Compile(section.Rules[i], AlertsSection.RuleKey(i, section.Rules[i]), problems) is { } rule)
            {
                rules.Add(rule);
            }
        }
        return rules;
    }
}
