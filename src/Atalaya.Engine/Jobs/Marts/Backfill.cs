using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>How one KPI of one mart would change within one scope (a store, a country, an app).</summary>
public sealed record MartDiff(string Mart, string Metric, string Scope, int Added, int Removed, int Changed, double MaxAbsDelta, double OldSum, double NewSum);

/// <summary>What a backfill computed and, when applied, wrote.</summary>
public sealed record BackfillResult(IReadOnlyList<StepOutcome> Steps, IReadOnlyList<MartDiff> Diffs, bool Applied, IReadOnlyList<string> Marts);

/// <summary>
/// Reprocesses raw → staging → marts for a range (seed 002: per app, per date range; raw is never
/// modified). The caller hands in a KPI engine loaded from the raw blocks; the marts are computed
/// into shadow tables (<c>shadow_daily_metrics</c>, …) with the same builder the daily batch uses,
/// compared with the live marts (per KPI and per scope), and — when applying — merged into the
/// live marts for the range in one transaction, so a reader sees the old figures or the new ones,
/// never a mix. A filter (store, app, source system) rebuilds only the marts whose key has that
/// dimension, and only their rows for those values: those rows are exactly what the filter selects.
/// </summary>
public sealed class Backfill(MartStore store, KpiEngine engine, IEventPositions events)
{
    public const string ShadowPrefix = "shadow_";

    /// <summary>The marts a filter can rebuild: those whose key holds every filtered dimension.</summary>
    public static IReadOnlyList<string> MartsFor(MartStore store, DimensionFilter filter) => store.Run(connection => MartsFor(store, connection, filter));

    private static List<string> MartsFor(MartStore store, DbConnection connection, DimensionFilter filter) =>
        [.. MartBuilder.Names.Where(m => filter.Values.Keys.All(d => store.Table(connection, m).Key.Contains(Dimensions.Name(d))))];

    public BackfillResult Run(DateOnly from, DateOnly to, DimensionFilter filter, bool apply, string runId, Action<string>? progress = null)
    {
        // The daily batch builds the marts from the day of the first stored event: days before it hold
        // no rows, and recomputing them would only "add" rows of zeros a later batch never writes.
        if (events.FirstDay() is { } first && from < first)
        {
            from = first;
        }
        return store.Run(connection => Run(connection, from, to, filter, apply, runId, progress));
    }

    private BackfillResult Run(DbConnection connection, DateOnly from, DateOnly to, DimensionFilter filter, bool apply, string runId, Action<string>? progress)
    {
        var marts = MartsFor(store, connection, filter);
        if (marts.Count == 0)
        {
            throw new ArgumentException($"no mart has every filtered dimension ({string.Join(", ", filter.Values.Keys.Select(Dimensions.Name))}) in its key; filter by one of them at a time");
        }
        if (from > to)
        {
            // The whole range lies before the first event: no mart holds rows there, nothing to recompute.
            return new BackfillResult([new StepOutcome("staging", true, 0, from, to, null) { Events = 0, Writes = false }], [], apply, marts);
        }
        var steps = new List<StepOutcome>
        {
            new("staging", true, 0, from, to, null) { Events = engine.CountEvents(MartBatch.Ms(from), MartBatch.Ms(to.AddDays(1))), Writes = false },
        };
        var diffs = new List<MartDiff>();
        var computed = new List<(MartTable Table, string Shadow)>();
        foreach (var mart in marts)
        {
            progress?.Invoke(mart);
            var table = store.Table(connection, mart);
            var shadow = ShadowPrefix + mart;
            store.CreateShadow(connection, mart, shadow);
            var rows = new MartBuilder(engine).Compute(table, from, to, filter, runId);
            using (var transaction = connection.BeginTransaction())
            {
                MartWriter.Merge(store, connection, transaction, table, shadow, rows, from, to, filter);
                transaction.Commit();
            }
            diffs.AddRange(Diff(connection, table, shadow, from, to, filter));
            steps.Add(new StepOutcome(mart, true, 0, from, to, null) { Note = $"{rows.Count} rows computed into {shadow}" });
            computed.Add((table, shadow));
        }
        if (!apply)
        {
            return new BackfillResult(steps, diffs, false, marts);
        }
        progress?.Invoke("apply");
        using (var transaction = connection.BeginTransaction())
        {
            for (var i = 0; i < computed.Count; i++)
            {
                var (table, shadow) = computed[i];
                var written = MartWriter.Merge(store, connection, transaction, table, table.Name, Rows(connection, transaction, table, shadow), from, to, filter);
                steps[i + 1] = steps[i + 1] with { Records = written };
            }
            transaction.Commit();
        }
        foreach (var (_, shadow) in computed)
        {
            using var drop = connection.CreateCommand();
            drop.CommandText = $"DROP TABLE {shadow};";
            drop.ExecuteNonQuery();
        }
        return new BackfillResult(steps, diffs, true, marts);
    }

    private static List<object?[]> Rows(DbConnection connection, DbTransaction? transaction, MartTable table, string name)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {string.Join(", ", table.Columns)} FROM {name};";
        return Read(command, table);
    }

    private static List<object?[]> Read(DbCommand command, MartTable table)
    {
        var rows = new List<object?[]>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var row = new object?[table.Columns.Count];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Per KPI and per scope (the row's store, else its first key dimension): rows added, removed and changed, and the sums before and after.</summary>
    private static IEnumerable<MartDiff> Diff(DbConnection connection, MartTable table, string shadow, DateOnly from, DateOnly to, DimensionFilter filter)
    {
        List<object?[]> Load(string name)
        {
            using var command = connection.CreateCommand();
            var where = MartWriter.Where(command, table, from, to, filter);
            command.CommandText = $"SELECT {string.Join(", ", table.Columns)} FROM {name} WHERE {where};";
            return Read(command, table);
        }
        string Key(object?[] row) => string.Join('\u001f', table.Key.Select(c => Convert.ToString(row[table.IndexOf(c)], CultureInfo.InvariantCulture)));
        var before = Load(table.Name).ToDictionary(Key, StringComparer.Ordinal);
        var after = Load(shadow).ToDictionary(Key, StringComparer.Ordinal);
        var scopeColumn = table.Key.Contains("store_id") ? "store_id" : table.Key[1];
        var facts = table.Columns.Contains("metric");
        var metricColumns = facts ? ["value"] : table.Values.Where(c => c is not ("kpi_versions" or "product_name")).ToList();
        var lines = new Dictionary<(string Metric, string Scope), MartDiff>();
        foreach (var key in before.Keys.Union(after.Keys))
        {
            before.TryGetValue(key, out var old);
            after.TryGetValue(key, out var now);
            var any = now ?? old!;
            var scopeValue = Convert.ToString(any[table.IndexOf(scopeColumn)], CultureInfo.InvariantCulture);
            var scope = $"{scopeColumn}={(string.IsNullOrEmpty(scopeValue) ? "(none)" : scopeValue)}";
            foreach (var column in metricColumns)
            {
                var metric = facts ? (string)any[table.IndexOf("metric")]! : column;
                var o = Number(old?[table.IndexOf(column)]);
                var n = Number(now?[table.IndexOf(column)]);
                var versionsDiffer = old is not null && now is not null
                    && !Equals(old[table.IndexOf(facts ? "kpi_version" : "kpi_versions")], now[table.IndexOf(facts ? "kpi_version" : "kpi_versions")]);
                var line = lines.GetValueOrDefault((metric, scope)) ?? new MartDiff(table.Name, metric, scope, 0, 0, 0, 0, 0, 0);
                line = line with
                {
                    Added = line.Added + (old is null ? 1 : 0),
                    Removed = line.Removed + (now is null ? 1 : 0),
                    Changed = line.Changed + (old is not null && now is not null && (o != n || versionsDiffer) ? 1 : 0),
                    MaxAbsDelta = Math.Max(line.MaxAbsDelta, Math.Abs((n ?? 0) - (o ?? 0))),
                    OldSum = line.OldSum + (o ?? 0),
                    NewSum = line.NewSum + (n ?? 0),
                };
                lines[(metric, scope)] = line;
            }
        }
        return lines.Values.Where(l => l.Added + l.Removed + l.Changed > 0).OrderBy(l => l.Metric, StringComparer.Ordinal).ThenBy(l => l.Scope, StringComparer.Ordinal);
    }

    private static double? Number(object? value) => value switch
    {
        long l => l,
        double d => d,
        _ => null,
    };
}
