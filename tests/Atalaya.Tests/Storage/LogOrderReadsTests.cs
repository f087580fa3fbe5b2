using Atalaya.Engine.Recommendations;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Storage;

/// <summary>
/// The readers that walk the log in order (the KPI replay after a snapshot, the data-quality
/// profile, the recommendation model's history) read the blocks through the index on first_seq:
/// SQLite's plan has no temporary b-tree, which would copy every matching block, its events blob
/// included, and sort them before the first row (the whole log for the model's history: 12 s of
/// CPU at 10M events, and a stop that waited for it). Asked on a database with blocks and their
/// statistics, where the planner weighs the indexes as it does on a real hub.
/// </summary>
public sealed class LogOrderReadsTests
{
    [Theory]
    [InlineData(nameof(StoredBlocks.AfterSql))]
    [InlineData(nameof(RecommendationModel.HistorySql))]
    public void An_ordered_read_of_the_log_uses_the_index_on_first_seq_and_sorts_nothing(string query)
    {
        var sql = query == nameof(StoredBlocks.AfterSql) ? StoredBlocks.AfterSql : RecommendationModel.HistorySql;
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        Migrations.Apply(connection);
        using (var insert = connection.CreateCommand())
        {
            // 2,000 blocks of 100 events over 200 days, oldest first, as a hub stores them.
            insert.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)
                INSERT INTO event_blocks (first_seq, event_count, received_at, min_timestamp, max_timestamp, source_system, id_hashes, events)
                SELECT 1 + i * 100, 100, 1700000000000 + i * 8640000, 1700000000000 + i * 8640000, 1700000000000 + i * 8640000 + 3600000,
                       'api', zeroblob(1600), zeroblob(4000) FROM n;
                ANALYZE;
                """;
            insert.ExecuteNonQuery();
        }
        using var explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
        explain.Parameters.AddWithValue("$after", 150_000);
        explain.Parameters.AddWithValue("$watermark", 200_000);
        explain.Parameters.AddWithValue("$since", 1700000000000 + (1990L * 8640000));
        var plan = new List<string>();
        using (var reader = explain.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }
        var text = string.Join(" | ", plan);
        Assert.Contains("event_blocks_by_seq", text);
        Assert.DoesNotContain("TEMP B-TREE", text);
    }
}
