using System.CommandLine;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary>Options every command shares.</summary>
public static class CommonOptions
{
    /// <summary><c>--data DIR</c>: the data folder (default <c>./data</c>, or <c>ATALAYA_DATA</c>).</summary>
    public static Option<string> Data() => new("--data")
    {
        Description = "Data folder (default ./data, or the ATALAYA_DATA environment variable).",
        HelpName = "DIR",
        DefaultValueFactory = _ => System.Environment.GetEnvironmentVariable("ATALAYA_DATA") is { Length: > 0 } fromEnv ? fromEnv : "./data",
    };

    /// <summary><c>--env NAME</c>: which config/environments/NAME.yaml to use (default dev, or <c>ATALAYA_ENV</c>).</summary>
    public static Option<string> Environment() => new("--env")
    {
        Description = "Environment whose schedules and thresholds apply: dev, stg or prod (default dev, or ATALAYA_ENV).",
        HelpName = "NAME",
        DefaultValueFactory = _ => System.Environment.GetEnvironmentVariable("ATALAYA_ENV") is { Length: > 0 } fromEnv ? fromEnv : "dev",
    };

    /// <summary><c>--config DIR</c>: the folder of the environment files.</summary>
    public static Option<string?> ConfigDirectory() => new("--config")
    {
        Description = "Folder holding dev.yaml, stg.yaml and prod.yaml (default ./config/environments when present, else the one shipped beside the executable; or ATALAYA_CONFIG).",
        HelpName = "DIR",
        DefaultValueFactory = _ => System.Environment.GetEnvironmentVariable("ATALAYA_CONFIG") is { Length: > 0 } fromEnv ? fromEnv : null,
    };

    /// <summary><c>--postgres CONNSTRING</c>: a cluster's shared PostgreSQL state (docs/scale-out.md, "Tokens in PostgreSQL").</summary>
    public static Option<string?> Postgres(string what) => new("--postgres")
    {
        Description = $"{what} in the cluster's PostgreSQL instead of the data folder, e.g. \"Host=127.0.0.1;Port=5432;Username=atalaya;Password=…;Database=atalaya\" (docs/scale-out.md).",
        HelpName = "CONNSTRING",
    };

    /// <summary>Opens the PostgreSQL state (migrating it); null after printing what is wrong and how to fix it.</summary>
    public static Engine.Postgres.PostgresState? OpenPostgres(string connectionString)
    {
        try
        {
            return Engine.Postgres.PostgresState.Open(connectionString);
        }
        catch (Engine.Postgres.PostgresStateException e)
        {
            Fail("--postgres: " + e.Message);
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            Fail($"--postgres: {e.Message}. Start the server, or check Host and Port in the connection string.");
        }
        return null;
    }

    /// <summary>
    /// Runs a job for a cluster as a node's run (<c>jobs run</c>, <c>backfill</c> and <c>quality run</c>
    /// with <c>--clickhouse</c> and <c>--postgres</c>): the run, its lock and what it writes in
    /// PostgreSQL; positions on ClickHouse's insert clock; no snapshot (see <see cref="OnClusterAsync"/>).
    /// </summary>
    public static Task<int> RunOnClusterAsync(string postgres, string clickHouseUrl, Engine.Storage.HubDatabase database, EnvironmentConfig config,
        Func<Engine.Jobs.JobRunner, Engine.Postgres.PostgresState, int> run, CancellationToken ct) =>
        OnClusterAsync(postgres, clickHouseUrl, (state, events) => run(new Engine.Jobs.JobRunner(database, events.Engine, config)
        {
            State = Engine.Jobs.JobState.Shared(state),
            OnCluster = true,
            Events = events.Positions,
        }, state), ct);

    /// <summary>
    /// Works on a cluster from the command line as a node would: its PostgreSQL state opened, and its
    /// events loaded once from ClickHouse into a KPI engine of the command's own (with a progress bar).
    /// Returns the exit code <paramref name="work"/> gives, or 2 after saying what is wrong with either server.
    /// </summary>
    public static async Task<int> OnClusterAsync(string postgres, string clickHouseUrl,
        Func<Engine.Postgres.PostgresState, Engine.Cluster.ClusterEvents, int> work, CancellationToken ct)
    {
        using var cluster = OpenPostgres(postgres);
        if (cluster is null)
        {
            return 2;
        }
        Engine.Cluster.ClusterEvents events;
        try
        {
            events = await LoadClusterEventsAsync(clickHouseUrl, ct);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return Fail($"--clickhouse: {e.Message}");
        }
        using (events)
        {
            Console.WriteLine($"Loaded {events.Loaded:N0} events from the cluster's ClickHouse.");
            try
            {
                return work(cluster, events);
            }
            catch (Engine.Postgres.StateUnavailableException e)
            {
                return Fail($"--postgres: {e.Message}; try again once it is back.");
            }
        }
    }

    /// <summary>A cluster's events loaded once from its ClickHouse into a KPI engine of the command's own, with a progress bar.</summary>
    private static async Task<Engine.Cluster.ClusterEvents> LoadClusterEventsAsync(string url, CancellationToken ct)
    {
        Engine.Cluster.ClusterEvents? events = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                ProgressTask? task = null;
                events = await Engine.Cluster.ClusterEvents.LoadAsync(url,
                    total => task = progress.AddTask($"Loading {total:N0} events from ClickHouse", maxValue: Math.Max(1, total)),
                    loaded => task!.Value = Math.Min(loaded, task.MaxValue), ct);
                task!.Value = task.MaxValue;
            });
        return events!;
    }

    /// <summary>Loads and validates the environment; null after printing the problem.</summary>
    public static EnvironmentConfig? LoadConfig(string environment, string? directory)
    {
        try
        {
            return EnvironmentFiles.Load(directory ?? EnvironmentConfig.DefaultDirectory(), environment);
        }
        catch (ConfigException e)
        {
            Fail("configuration: " + e.Message);
            return null;
        }
    }

    /// <summary>Splits "MX, CO" into ["MX", "CO"].</summary>
    public static string[] List(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Writes a one-line error that says how to fix it, and returns the exit code 2.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }
}

/// <summary>
/// <c>--postgres</c> and <c>--clickhouse</c> for a command that works on a cluster's events (a job,
/// a backfill, a report, the quality checks): both or neither; one alone is refused naming the other.
/// </summary>
internal sealed class ClusterOptions(string postgresDescription, string clickHouseDescription)
{
    public Option<string?> Postgres { get; } = new("--postgres")
    {
        Description = postgresDescription + ", e.g. \"Host=127.0.0.1;Port=5432;Username=atalaya;Password=…;Database=atalaya\" (docs/scale-out.md).",
        HelpName = "CONNSTRING",
    };

    public Option<string?> ClickHouse { get; } = new("--clickhouse")
    {
        Description = "With --postgres: the cluster's ClickHouse, as given to its serve nodes; " + clickHouseDescription + ".",
        HelpName = "URL",
    };

    /// <summary>
    /// Null when both or neither are given; else 2 after saying what to add. <paramref name="what"/>
    /// names the work ("a job"), <paramref name="onNode"/> how to have a node do it instead, and
    /// <paramref name="state"/> what of it lives in PostgreSQL ("runs, locks and marts").
    /// </summary>
    public int? Refuse(ParseResult parse, string what, string onNode, string state)
    {
        var postgres = parse.GetValue(Postgres) is not null;
        var clickHouse = parse.GetValue(ClickHouse) is not null;
        if (postgres && !clickHouse)
        {
            return CommonOptions.Fail($"--postgres: {what} works on the cluster's events, and a cluster's events are in ClickHouse: add --clickhouse URL, as given to the serve nodes, "
                + $"or have a node, which holds them, do it: {onNode} (docs/scale-out.md).");
        }
        if (clickHouse && !postgres)
        {
            return CommonOptions.Fail($"--clickhouse: a cluster's {state} are in its PostgreSQL; give --postgres CONNSTRING too, as to its serve nodes");
        }
        return null;
    }
}
