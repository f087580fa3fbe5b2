using System.CommandLine;
using System.Globalization;
using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya connectors run ga4|meta_ads|app_store [--start DATE --end DATE] [--app ID]</c>,
/// <c>atalaya connectors replay [PROVIDER] [--id N]</c> and <c>atalaya connectors dead-letters</c>.
/// A run takes the connector's job lock (the scheduler's too) and is recorded in pipeline_runs
/// with its error class; exit code 0 when every day was written, 1 when some failed, 2 for bad
/// input, 4 when the connector is already running.
/// </summary>
public static class ConnectorsCommand
{
    public static Command Create()
    {
        var command = new Command("connectors", "Fetch GA4, Meta Ads and App Store figures into fact_kpi_daily, and reprocess failed days.");
        command.Add(RunCommand());
        command.Add(ReplayCommand());
        command.Add(DeadLettersCommand());
        return command;
    }

    private static Command RunCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var provider = new Argument<string>("PROVIDER") { Description = $"The connector: {ConnectorSources.Names}." };
        var start = new Option<string?>("--start") { Description = "First UTC day (YYYY-MM-DD); default yesterday.", HelpName = "DATE" };
        var end = new Option<string?>("--end") { Description = "Last UTC day, inclusive (YYYY-MM-DD), at the latest yesterday; default --start.", HelpName = "DATE" };
        var app = new Option<string?>("--app") { Description = "Only these app ids (comma list), as mapped in connectors.PROVIDER.", HelpName = "ID" };
        var postgres = CommonOptions.Postgres("Run it for a cluster: the run, its lock, the facts, pages and dead letters kept");
        var run = new Command("run", "Fetch a range of days (default yesterday) for one provider; failed days become dead letters.")
        {
            provider, start, end, app, data, environment, configDirectory, postgres,
        };
        run.SetAction(parse =>
        {
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var name = parse.GetValue(provider)!;
            if (Configured(config, name) is { } problem)
            {
                return CommonOptions.Fail(problem);
            }
            var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
            var startText = parse.GetValue(start);
            if (Day(startText, "--start", yesterday) is not { } first || Day(parse.GetValue(end) ?? startText, "--end", yesterday) is not { } last)
            {
                return 2;
            }
            if (first > last)
            {
                return CommonOptions.Fail($"--start {first:yyyy-MM-dd} is after --end {last:yyyy-MM-dd}");
            }
            if (last > yesterday)
            {
                return CommonOptions.Fail($"--end {last:yyyy-MM-dd} is not a closed day; providers report whole days up to yesterday ({yesterday:yyyy-MM-dd}, UTC)");
            }
            var apps = CommonOptions.List(parse.GetValue(app));
            var known = config.Connectors.Find(name)!.AppIds;
            if (apps.FirstOrDefault(a => !known.Contains(a)) is { } unknown)
            {
                return CommonOptions.Fail($"--app {unknown} is not mapped in connectors.{name}; its apps: {string.Join(", ", known)}");
            }
            var request = new ConnectorRequest(name, first, last, apps.Length == 0 ? null : apps.ToHashSet(StringComparer.Ordinal));
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            return Execute(parse.GetValue(data)!, shared, config, ConnectorJobs.Definition(name, _ => request) with { Scheduled = false },
                $"Fetching {name} {first:yyyy-MM-dd}..{last:yyyy-MM-dd}", "cli", name);
        });
        return run;
    }

    private static Command ReplayCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var provider = new Argument<string?>("PROVIDER") { Description = $"Only this connector ({ConnectorSources.Names}); default every connector with open dead letters.", Arity = ArgumentArity.ZeroOrOne };
        var id = new Option<long?>("--id") { Description = "Only this dead letter (see `atalaya connectors dead-letters`).", HelpName = "N" };
        var postgres = CommonOptions.Postgres("Replay a cluster's dead letters (any node's), kept");
        var replay = new Command("replay", "Reprocess open connector dead letters: schema failures from their kept pages (no fetch), the others by fetching the day again.")
        {
            provider, id, data, environment, configDirectory, postgres,
        };
        replay.SetAction(parse =>
        {
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            if (Letters(parse.GetValue(data)!, shared, "connector", all: false) is not { } open)
            {
                return 2;
            }
            var only = parse.GetValue(provider);
            var letterId = parse.GetValue(id);
            if (only is not null && Configured(config, only) is { } problem)
            {
                return CommonOptions.Fail(problem);
            }
            if (letterId is { } wanted && open.FirstOrDefault(l => l.Id == wanted) is not { } letter)
            {
                return CommonOptions.Fail($"--id {wanted}: no open connector dead letter has this id; see `atalaya connectors dead-letters`");
            }
            var providers = open.Where(l => (only is null || l.Provider == only) && (letterId is null || l.Id == letterId)).Select(l => l.Provider).Distinct().ToList();
            if (providers.Count == 0)
            {
                Console.WriteLine("No open connector dead letter to replay.");
                return 0;
            }
            var exit = 0;
            foreach (var name in providers)
            {
                if (Configured(config, name) is { } missing)
                {
                    Console.Error.WriteLine($"error: skipping {name}'s dead letters: {missing}");
                    exit = Math.Max(exit, 1);
                    continue;
                }
                exit = Math.Max(exit, Execute(parse.GetValue(data)!, shared, config, ConnectorJobs.Replay(name, letterId), $"Replaying {name}'s dead letters", "replay", name));
            }
            return exit;
        });
        return replay;
    }

    private static Command DeadLettersCommand()
    {
        var data = CommonOptions.Data();
        var all = new Option<bool>("--all") { Description = "Resolved ones too." };
        var postgres = CommonOptions.Postgres("List a cluster's dead letters (every node's), kept");
        var list = new Command("dead-letters", "Connector days and webhook payloads that could not be processed, with their class and reason.") { all, data, postgres };
        list.SetAction(parse =>
        {
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            if (Letters(parse.GetValue(data)!, shared, null, parse.GetValue(all)) is not { } letters)
            {
                return 2;
            }
            if (letters.Count == 0)
            {
                Console.WriteLine(parse.GetValue(all) ? "No dead letter." : "No open dead letter.");
                return 0;
            }
            TextTable.Print(["id", "kind", "provider", "account", "day", "class", "created", "resolved", "reason"], letters.Select(l => new[]
            {
                l.Id.ToString(CultureInfo.InvariantCulture), l.Kind, l.Provider, l.Account, l.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "",
                l.ErrorClass, PipelineRuns.Iso(l.CreatedAt), l.ResolvedAt is { } at ? $"{PipelineRuns.Iso(at)} by {l.ResolvedBy}" : "open", l.Reason,
            }));
            return 0;
        });
        return list;
    }

    /// <summary>
    /// The dead letters: the cluster's when <paramref name="shared"/> is given (the data folder is
    /// then not opened), else the data folder's; null after saying the cluster cannot be reached.
    /// </summary>
    internal static IReadOnlyList<DeadLetter>? Letters(string dataDirectory, PostgresState? shared, string? kind, bool all)
    {
        try
        {
            var rows = shared is null ? ConnectorRows.For(HubDatabase.Open(dataDirectory), null) : ConnectorRows.Shared(shared);
            return rows.DeadLetters(kind, all: all);
        }
        catch (StateUnavailableException e)
        {
            CommonOptions.Fail($"--postgres: {e.Message}; try again once it is back.");
            return null;
        }
    }

    /// <summary>Runs a connector job under its lock (the cluster's when <paramref name="shared"/> is given), prints the run with its error class; the exit code.</summary>
    private static int Execute(string dataDirectory, PostgresState? shared, EnvironmentConfig config, JobDefinition definition, string what, string trigger, string provider)
    {
        var database = HubDatabase.Open(dataDirectory);
        // A connector run needs the KPI dictionary, not the events: the engine is not loaded.
        var runner = new JobRunner(database, new KpiEngine(KpiDictionary.Default), config)
        {
            State = shared is null ? JobState.Embedded(database) : JobState.Shared(shared),
        };
        StartedRun? started;
        string? busyWith;
        try
        {
            started = runner.TryBegin(definition, trigger, provider, out busyWith);
        }
        catch (StateUnavailableException e)
        {
            Console.Error.WriteLine($"error: --postgres: {e.Message}; nothing was run, try again once it is back.");
            return 1;
        }
        if (started is null)
        {
            Console.Error.WriteLine($"error: {definition.Name} is already running ({busyWith}); wait for it or see `atalaya runs --job {definition.Name}`.");
            return JobsCommand.Busy;
        }
        PipelineRun? result = null;
        try
        {
            AnsiConsole.Status().Start($"{what} ({started.RunId}) …", _ => result = runner.Execute(started));
        }
        catch (StateUnavailableException e)
        {
            // The units written before it went away are whole; the rest wrote nothing and could not be dead-lettered.
            Console.Error.WriteLine($"error: --postgres: {e.Message}; run {started.RunId} stopped (the days it wrote are whole, the others were not written). "
                + "Run the same command again once it is back; the next serve start marks the run failed.");
            return 1;
        }
        JobsCommand.Print(result!);
        if (result!.ErrorClass is { } errorClass)
        {
            Console.WriteLine($"error class: {errorClass} — {ErrorClasses.Recovery(Enum.Parse<ErrorClass>(errorClass, ignoreCase: true))}");
        }
        return result.Status == RunStatus.Success ? 0 : 1;
    }

    private static string? Configured(EnvironmentConfig config, string provider) =>
        !ConnectorSources.All.Contains(provider) ? $"unknown connector '{provider}'; use one of {ConnectorSources.Names}"
        : config.Connectors.Find(provider) is null ? $"{provider} is not configured in {config.Source}: add a connectors.{provider} section (docs/connectors.md)"
        : null;

    /// <summary>A YYYY-MM-DD option (<paramref name="fallback"/> when absent), or null after printing what is wrong.</summary>
    private static DateOnly? Day(string? text, string option, DateOnly fallback)
    {
        if (text is null)
        {
            return fallback;
        }
        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            CommonOptions.Fail($"{option} '{text}' is not a date; write YYYY-MM-DD");
            return null;
        }
        return day;
    }
}
