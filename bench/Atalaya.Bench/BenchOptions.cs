using System.Globalization;

namespace Atalaya.Bench;

public sealed record BenchOptions(int Events, int Batch, int Connections, string? ClickHouseUrl, bool SkipClickHouse, string? Out)
{
    public string CommandLine { get; init; } = "";

    /// <summary>Which load generators post the events: this benchmark's .NET client, curl, or both (<c>--client</c>).</summary>
    public IReadOnlyList<string> Clients { get; init; } = ["bench", "curl"];

    /// <summary>A note kept with the run in the report's table of runs (<c>--label</c>), e.g. "development run, shared machine".</summary>
    public string Label { get; init; } = "";

    /// <summary>Null when the arguments ask for help or are not understood.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "ingest")
        {
            return null;
        }
        var options = new BenchOptions(2_000_000, 5000, 4, null, false, null)
        {
            CommandLine = "dotnet run -c Release --project bench/Atalaya.Bench -- " + string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a)),
        };
        for (var i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--events" => options with { Events = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--batch" => options with { Batch = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--connections" => options with { Connections = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--clickhouse-url" => options with { ClickHouseUrl = Next() },
                "--skip-clickhouse" => options with { SkipClickHouse = true },
                "--out" => options with { Out = Next() },
                "--label" => options with { Label = Next() },
                "--client" => Next() switch
                {
                    "bench" => options with { Clients = ["bench"] },
                    "curl" => options with { Clients = ["curl"] },
                    "both" => options with { Clients = ["bench", "curl"] },
                    _ => null,
                },
                _ => null,
            };
            if (options is null)
            {
                return null;
            }
        }
        return options;
    }
}
