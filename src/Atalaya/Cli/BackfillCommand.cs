using System.CommandLine;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya backfill --start DATE --end DATE [--store ID] [--app ID] [--source SYSTEM] [--dry-run] [--clickhouse URL --postgres CONNSTRING]</c>:
/// raw → staging → marts for a range, read afresh from the raw blocks (never modified), computed
/// into shadow tables and compared with the live marts; without <c>--dry-run</c> the new rows are
/// swapped in atomically. <c>--proposals</c> lists the backfills KPI definition changes call for.
/// On a cluster (<c>--clickhouse</c> and <c>--postgres</c>) the raw events are ClickHouse's, loaded
/// once into the command's own KPI engine, and the run, its lock and the marts are PostgreSQL's.
/// </summary>
public static class BackfillCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var start = new Option<string?>("--start") { Description = "First UTC day (YYYY-MM-DD).", HelpName = "DATE" };
        var end = new Option<string?>("--end") { Description = "Last UTC day, inclusive (YYYY-MM-DD); at the latest yesterday.", HelpName = "DATE" };
        var store = new Option<string?>("--store") { Description = "Only these stores (comma list): daily_metrics, product_metrics, customer_metrics.", HelpName = "ID" };
        var app = new Option<string?>("--app") { Description = "Only these app ids (comma list): fact_kpi_daily.", HelpName = "ID" };
        var source = new Option<string?>("--source") { Description = "Only these source systems (comma list): fact_kpi_daily.", HelpName = "SYSTEM" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Compute into shadow_* tables and show how each KPI would change; change nothing." };
        var apply = new Option<bool>("--apply") { Description = "Swap the recomputed rows in atomically (the default without --dry-run)." };
        var proposals = new Option<bool>("--proposals") { Description = "List the backfills that KPI definition changes call for, and stop." };
        var cluster = new ClusterOptions(
            "Backfill a cluster's marts in its PostgreSQL (with --clickhouse), or with --proposals read them there",
            "the backfill loads its events from there (as a node does at start) and recomputes the range from them");
        var command = new Command("backfill", "Reprocess raw events → staging → marts for a range of days; raw events are never modified.")
        {
            data, start, end, store, app, source, dryRun, apply, proposals, environment, configDirectory, cluster.Postgres, cluster.ClickHouse,
        };
        command.SetAction(async (parse, ct) =>
        {
            var connectionString = parse.GetValue(cluster.Postgres);
            if (connectionString is not null && parse.GetValue(proposals))
            {
                using var shared = CommonOptions.OpenPostgres(connectionString);
                return shared is null ? 2 : PrintProposals(MartStore.Postgres(shared));
            }
            if (cluster.Refuse(parse, "a backfill", "POST /api/jobs/backfill/run?start_date=DATE&end_date=DATE with an admin token", "marts") is { } refused)
            {
                return refused;
            }
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var database = HubDatabase.Open(parse.GetValue(data)!);
            if (connectionString is null && parse.GetValue(proposals))
            {
                return PrintProposals(MartStore.Sqlite(database));
            }
            if (parse.GetValue(dryRun) && parse.GetValue(apply))
            {
                return CommonOptions.Fail("--dry-run and --apply exclude each other: look first with --dry-run, then run with --apply");
            }
            if (Date(parse.GetValue(start), "--start") is not { } from || Date(parse.GetValue(end), "--end") is not { } to)
            {
                return 2;
            }
            var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
            if (from > to)
            {
                return CommonOptions.Fail($"--start {from:yyyy-MM-dd} is after --end {to:yyyy-MM-dd}");
            }
            if (to > yesterday)
            {
                return CommonOptions.Fail($"--end {to:yyyy-MM-dd} is not a closed day; marts hold days up to yesterday ({yesterday:yyyy-MM-dd}, UTC)");
            }
            var filters = new Dictionary<Dimension, IReadOnlyList<string>>();
            foreach (var (option, dimension) in new[] { (store, Dimension.StoreId), (app, Dimension.AppId), (source, Dimension.SourceSystem) })
            {
                if (CommonOptions.List(parse.GetValue(option)) is { Length: > 0 } values)
                {
                    filters[dimension] = values;
                }
            }
            var filter = new DimensionFilter(filters);
            if (Backfill.MartsFor(MartStore.Sqlite(database), filter).Count == 0)
            {
                return CommonOptions.Fail("--store limits the store marts and --app/--source limit fact_kpi_daily: no mart has both; run them one at a time");
            }
            var range = new BackfillRange(from, to, filter, filters, Applying: !parse.GetValue(dryRun));
            if (connectionString is null)
            {
                // Raw → staging: a KPI engine read afresh from the raw blocks, not from the snapshot.
                return Run(new JobRunner(database, JobsCommand.LoadEngine(database, useSnapshot: false), config), range);
            }
            return await CommonOptions.RunOnClusterAsync(connectionString, parse.GetValue(cluster.ClickHouse)!, database, config, (runner, _) => Run(runner, range), ct);
        });
        return command;
    }

    /// <summary>What to backfill: the days, the filters (as given, and by dimension for the run's record), and whether to swap the rows in.</summary>
    private sealed record BackfillRange(DateOnly From, DateOnly To, DimensionFilter Filter, Dictionary<Dimension, IReadOnlyList<string>> Filters, bool Applying);

    private static int Run(JobRunner runner, BackfillRange range)
    {
        var (from, to, applying) = (range.From, range.To, range.Applying);
        BackfillResult? result = null;
        var definition = JobCatalog.RangeBackfill(from, to, range.Filter, applying, r => result = r);
        var started = runner.TryBegin(definition, applying ? "cli" : "cli dry-run", range.Filters.TryGetValue(Dimension.SourceSystem, out var systems) ? string.Join(",", systems) : "all", out var busyWith);
        if (started is null)
        {
            Console.Error.WriteLine($"error: the marts are being written by {busyWith}; wait for it (see `atalaya runs`).");
            return JobsCommand.Busy;
        }
        PipelineRun? run = null;
        AnsiConsole.Status().Start($"Backfilling {from:yyyy-MM-dd}..{to:yyyy-MM-dd} ({started.RunId}) …", _ => run = runner.Execute(started));
        if (result is { } r)
        {
            PrintDiff(r);
        }
        JobsCommand.Print(run!);
        Console.WriteLine(result is null ? "" : applying ? "Applied: the live marts now hold the recomputed rows."
            : "Dry run: nothing changed. The rows are in shadow_* tables for inspection; run again with --apply to swap them in.");
        return run!.Status == RunStatus.Success ? 0 : 1;
    }

    private static DateOnly? Date(string? text, string option)
    {
        if (text is null)
        {
            CommonOptions.Fail($"{option} is required (YYYY-MM-DD)");
            return null;
        }
        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            CommonOptions.Fail($"{option}: '{text}' is not a date; use YYYY-MM-DD");
            return null;
        }
        return day;
    }

    private static void PrintDiff(BackfillResult result)
    {
        if (result.Diffs.Count == 0)
        {
            Console.WriteLine($"No figure changes in {string.Join(", ", result.Marts)}.");
            return;
        }
        const int shown = 60;
        TextTable.Print(["mart", "kpi", "scope", "added", "removed", "changed", "max |Δ|", "sum before", "sum after"],
            result.Diffs.OrderByDescending(d => d.MaxAbsDelta).ThenBy(d => d.Mart, StringComparer.Ordinal).Take(shown).Select(d => new[]
            {
                d.Mart, d.Metric, d.Scope, N(d.Added), N(d.Removed), N(d.Changed), d.MaxAbsDelta.ToString("0.######", CultureInfo.InvariantCulture),
                d.OldSum.ToString("0.##", CultureInfo.InvariantCulture), d.NewSum.ToString("0.##", CultureInfo.InvariantCulture),
            }));
        if (result.Diffs.Count > shown)
        {
            Console.WriteLine($"… and {result.Diffs.Count - shown:N0} more KPI × scope lines with changes (largest first above).");
        }
        Console.WriteLine("added: rows the recomputation has and the mart lacks; removed: mart rows it no longer produces; changed: rows whose value or KPI version differs.");
        Console.WriteLine("scope: the rows' store, else the first dimension of the mart's key ((none): events that carry no value for it).");
    }

    private static string N(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static int PrintProposals(MartStore marts)
    {
        IReadOnlyList<BackfillProposal> proposals;
        try
        {
            proposals = MartVersions.Proposals(marts, KpiDictionary.Default);
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            return CommonOptions.Fail($"--postgres: {e.Message}. Start the server, or check Host and Port in the connection string.");
        }
        if (proposals.Count == 0)
        {
            Console.WriteLine("Every mart row was computed with the KPI versions in force; no backfill needed.");
            return 0;
        }
        foreach (var p in proposals)
        {
            Console.WriteLine($"{p.Mart}.{p.Metric}: rows from {p.From:yyyy-MM-dd} to {p.To:yyyy-MM-dd} hold version {p.RecordedVersion}, now {p.CurrentVersion} ({p.Reason})");
            Console.WriteLine($"  {p.Command}");
        }
        return 0;
    }
}
