using Atalaya.Engine.Alerts;
using Atalaya.Engine.Config;

namespace Atalaya.Engine;

/// <summary>
/// Reads an environment file (config/environments/NAME.yaml) with the checks of every feature that
/// owns a section but sits above the configuration folder, so that one load reports every problem.
/// The server and the CLI load through here; a test that only needs the shape may use
/// <see cref="EnvironmentConfig.Parse"/> directly.
/// </summary>
public static class EnvironmentFiles
{
    private static readonly EnvironmentConfig.SectionCheck[] Checks = [AlertRuleSet.Check];

    public static EnvironmentConfig Load(string directory, string environment) => EnvironmentConfig.Load(directory, environment, Checks);

    public static EnvironmentConfig Parse(string yaml, string source, string environment) => EnvironmentConfig.Parse(yaml, source, environment, Checks);
}
