using Atalaya.Engine;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The quarantine's bounds, asserted the same way on both places refused events can live: the data
/// folder's log (one hub) and a cluster's PostgreSQL written by two collectors at once. The same
/// requests give the same rows on both, equal to a plain reference computation of the bounds (the
/// first N of a request, at most M per source and clock hour across every node, the rest counted).
/// </summary>
public sealed class QuarantineConformanceTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private const int PerRequest = 4;
    private const int PerSourcePerHour = 10;
    private static readonly long Hour10 = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private readonly TempDirectory _folder = new("atalaya-quarantine-rows");
    private string _postgres = "";

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    public async Task InitializeAsync() => _postgres = await server.NewDatabaseAsync();

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Requests: (source, minutes after 10:00, rejected events).</summary>
    private static readonly (string Source, int Minute, int Rejected)[] Requests =
    [
        ("web", 1, 6), ("web", 2, 3), ("ios", 3, 2), ("web", 4, 5), ("web", 5, 1), ("ios", 6, 9), ("web", 7, 2), ("ios", 8, 4),
        ("web", 61, 6), ("web", 62, 6), ("web", 63, 6),
    ];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Each_request_keeps_its_first_rejections_within_the_sources_hourly_budget_and_counts_the_rest(string backend)
    {
        var stored = backend == "sqlite" ? await ThroughTheLogAsync() : await ThroughTwoCollectorsAsync();

        // The reference: per request, the first PerRequest, cut to what is left of the source's hour.
        var used = new Dictionary<(string, long), int>();
        var expected = new List<(string Source, long Hour, int Rejected, int Kept)>();
        foreach (var (source, minute, rejected) in Requests)
        {
            var hour = (Hour10 + minute * 60_000L) / 3_600_000;
            var before = used.GetValueOrDefault((source, hour));
            var keep = Math.Max(0, Math.Min(Math.Min(rejected, PerRequest), PerSourcePerHour - before));
            used[(source, hour)] = before + keep;
            expected.Add((source, hour, rejected, keep));
        }
        Assert.Equal(used.Where(u => u.Value > 0).OrderBy(u => u.Key).Select(u => $"{u.Key.Item1}@{u.Key.Item2}:{u.Value}"), stored.RowsBySourceAndHour);
        Assert.Equal(expected.Where(e => e.Kept < e.Rejected).Select(e => $"{e.Source}:{e.Rejected}/{e.Kept}"), stored.Overflow);
        Assert.Equal(Requests.Sum(r => r.Rejected), stored.RowsBySourceAndHour.Sum(r => int.Parse(r.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture))
            + stored.Overflow.Sum(o => int.Parse(o.Split(':')[1].Split('/')[0], System.Globalization.CultureInfo.InvariantCulture) - int.Parse(o.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture)));
        // Each stored row is the request's own event, with its reasons.
        Assert.Contains("web:1:0:Malformed", stored.FirstRows);
    }

    [Fact]
    public async Task Requests_of_one_source_arriving_at_once_on_two_collectors_share_one_hourly_budget()
    {
        using var nodeA = PostgresState.Open(_postgres);
        using var nodeB = PostgresState.Open(_postgres);
        var collectors = new[] { new SharedQuarantine(nodeA, PerSourcePerHour), new SharedQuarantine(nodeB, PerSourcePerHour) };
        using var start = new Barrier(8);
        var kept = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
        {
            using var batch = Batch("web", 10 + i, 4);
            start.SignalAndWait();
            return collectors[i % 2].Write(batch);
        })));

        Assert.Equal(PerSourcePerHour, kept.Sum());
        Assert.Equal(PerSourcePerHour, (long)(await PostgresServer.ColumnAsync(_postgres, "SELECT count(*) FROM failed_events")).Single()!);
        Assert.Equal(8 * 4 - PerSourcePerHour, (long)(await PostgresServer.ColumnAsync(_postgres, "SELECT sum(rejected - kept) FROM quarantine_overflow")).Single()!);
        Assert.Equal(PerSourcePerHour, (int)(await PostgresServer.ColumnAsync(_postgres, "SELECT used FROM quarantine_budget")).Single()!);
    }

    private static AppendBatch Batch(string source, int minute, int rejected)
    {
        var batch = new AppendBatch(source, Hour10 + minute * 60_000L) { QuarantinePerRequest = PerRequest };
        for (var i = 0; i < rejected; i++)
        {
            batch.AddRejected(new QuarantinedEvent(i, $"{source}-{minute}-{i}", "Malformed", ["event_type: required"], $$"""{"n":{{i}}}"""));
        }
        return batch;
    }

    private sealed record Stored(List<string> RowsBySourceAndHour, List<string> Overflow, List<string> FirstRows);

    private const string RowsQuery = """
        SELECT source_system || '@' || (received_at / 3600000) || ':' || count(*) FROM failed_events GROUP BY source_system, received_at / 3600000 ORDER BY source_system, received_at / 3600000;
        """;

    private const string OverflowQuery = "SELECT source_system || ':' || rejected || '/' || kept FROM quarantine_overflow ORDER BY received_at;";

    private const string FirstRowsQuery = """
        SELECT source_system || ':' || ((received_at - 1772359200000) / 60000) || ':' || request_index || ':' || reason FROM failed_events WHERE errors = '["event_type: required"]';
        """;

    private async Task<Stored> ThroughTheLogAsync()
    {
        await using (var hub = Hub.Open(_folder.Path, new IngestOptions { QuarantinePerRequest = PerRequest, QuarantinePerSourcePerHour = PerSourcePerHour }))
        {
            foreach (var (source, minute, rejected) in Requests)
            {
                using var batch = Batch(source, minute, rejected);
                await hub.Log.AppendAsync(batch);
            }
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_folder.Path, HubDatabase.FileName)};Pooling=False");
        connection.Open();
        List<string> Column(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var values = new List<string>();
            while (reader.Read())
            {
                values.Add(reader.GetString(0));
            }
            return values;
        }
        return new Stored(Column(RowsQuery), Column(OverflowQuery), Column(FirstRowsQuery));
    }

    /// <summary>Two collectors (two nodes) take the requests in turn.</summary>
    private async Task<Stored> ThroughTwoCollectorsAsync()
    {
        using var nodeA = PostgresState.Open(_postgres);
        using var nodeB = PostgresState.Open(_postgres);
        var collectors = new[] { new SharedQuarantine(nodeA, PerSourcePerHour), new SharedQuarantine(nodeB, PerSourcePerHour) };
        for (var i = 0; i < Requests.Length; i++)
        {
            var (source, minute, rejected) = Requests[i];
            using var batch = Batch(source, minute, rejected);
            collectors[i % 2].Write(batch);
        }
        async Task<List<string>> Column(string sql) => [.. (await PostgresServer.ColumnAsync(_postgres, sql)).Cast<string>()];
        return new Stored(await Column(RowsQuery), await Column(OverflowQuery), await Column(FirstRowsQuery));
    }
}
