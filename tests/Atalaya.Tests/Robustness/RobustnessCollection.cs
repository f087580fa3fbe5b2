namespace Atalaya.Tests.Robustness;

/// <summary>
/// The robustness suites run child hubs that want both cores (kills at random moments, thousands of
/// hostile requests), so they run alone, one after the other, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RobustnessCollection
{
    public const string Name = "Robustness (child hub processes)";
}
