using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>A KPI whose mart rows were computed with another version than the one in force, and the backfill that fixes them.</summary>
public sealed record BackfillProposal(string Mart, string Metric, int RecordedVersion, int CurrentVersion, DateOnly From, DateOnly To, string Reason)
{
    public string Command => $"atalaya backfill --start {From:yyyy-MM-dd} --end {To:yyyy-MM-dd} --dry-run";
}

/// <summary>
/// Compares the KPI versions recorded in the marts with the dictionary in force: a KPI definition
/// change (a new version in kpis.vN.json) proposes the backfill over the days whose rows still
/// hold the old version. <c>serve</c> logs the proposals at start; <c>atalaya backfill --proposals</c>
/// lists them.
/// </summary>
public static class MartVersions
{
    public static IReadOnlyList<BackfillProposal> Proposals(MartStore store, KpiDictionary dictionary) => store.Run(connection => Proposals(connection, dictionary));

    private static IReadOnlyList<BackfillProposal> Proposals(DbConnection connection, KpiDictionary dictionary)
    {
        var found = new List<BackfillProposal>();
        foreach (var mart in MartBuilder.Names)
        {
            var facts = mart == "fact_kpi_daily";
            using var command = connection.CreateCommand();
            command.CommandText = facts
                ? $"SELECT metric || '=' || kpi_version, min(date), max(date) FROM fact_kpi_daily WHERE source_system NOT IN ({ConnectorSources.SqlList}) GROUP BY metric, kpi_version;"
                : $"SELECT kpi_versions, min(date), max(date) FROM {mart} GROUP BY kpi_versions;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var from = DateOnly.ParseExact(reader.GetString(1), "yyyy-MM-dd", CultureInfo.InvariantCulture);
                var to = DateOnly.ParseExact(reader.GetString(2), "yyyy-MM-dd", CultureInfo.InvariantCulture);
                foreach (var pair in reader.GetString(0).Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    var (id, version) = (pair[..pair.IndexOf('=')], int.Parse(pair[(pair.IndexOf('=') + 1)..], CultureInfo.InvariantCulture));
                    int current;
                    string reason;
                    if (id == "dictionary")
                    {
                        current = dictionary.Version;
                        reason = dictionary.Changes.LastOrDefault()?.Reason ?? "";
                    }
                    else if (dictionary.TryGet(id, out var definition))
                    {
                        current = definition.Version;
                        reason = definition.Changes.LastOrDefault()?.Reason ?? "";
                    }
                    else
                    {
                        continue;
                    }
                    if (current != version)
                    {
                        found.Add(new BackfillProposal(mart, id, version, current, from, to, reason));
                    }
                }
            }
        }
        // One line per KPI and mart, over the widest range its old rows cover.
        return [.. found.GroupBy(p => (p.Mart, p.Metric))
            .Select(g => g.First() with { From = g.Min(p => p.From), To = g.Max(p => p.To), RecordedVersion = g.Min(p => p.RecordedVersion) })
            .OrderBy(p => p.Mart, StringComparer.Ordinal).ThenBy(p => p.Metric, StringComparer.Ordinal)];
    }
}
