using System.Diagnostics;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// How long each part of a composite ClickHouse reading took, for the benchmark that prices it
/// (bench cluster-query, the reconciliation check's cost): each <see cref="Lap"/> names the part that
/// just ended. A reading not being measured is given none.
/// </summary>
internal sealed class QueryLaps
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public List<(string Part, TimeSpan Took)> Parts { get; } = [];

    public void Lap(string part)
    {
        Parts.Add((part, _clock.Elapsed));
        _clock.Restart();
    }
}
