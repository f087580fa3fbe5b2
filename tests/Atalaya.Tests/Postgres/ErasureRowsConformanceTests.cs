using Atalaya.Engine.Privacy;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The record of erasures (<c>privacy_erasures</c>), asserted the same way on both places it lives:
/// the data folder's SQLite and a cluster's PostgreSQL. Two row stores on one backing play the node
/// that recorded a plan and another node (or the next start) that finishes it.
/// </summary>
public sealed class ErasureRowsConformanceTests(PostgresServer server) : BackendConformance(server, "atalaya-erasure-rows")
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 7, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_recorded_plan_is_pending_everywhere_until_completed_and_then_only_the_hashes_of_its_ids_remain(string backend)
    {
        var recorder = Rows(backend);
        var other = Rows(backend);
        var (ana, anon) = (PersonIds.Hash("ana@example.se"), PersonIds.Hash("anon-ana-1"));
        recorder.Record("era_2", ana, Now.AddMinutes(1), """{"pseudonyms":{"ana@example.se":"psn_x"}}""");
        recorder.Record("era_1", PersonIds.Hash("bo"), Now, """{"pseudonyms":{"bo":"psn_y"}}""");

        // Oldest first, seen by the other store, and no erasure counts as done while it is pending.
        Assert.Equal(["era_1", "era_2"], other.Pending().Select(p => p.ErasureId));
        var pending = other.Pending()[1];
        Assert.Equal((ana, """{"pseudonyms":{"ana@example.se":"psn_x"}}"""), (pending.PersonHash, pending.Plan));
        Assert.Null(other.ErasedBefore(ana));

        other.Complete("era_2", Now.AddMinutes(2), [ana, anon], events: 9, blocks: 2);

        Assert.Equal(["era_1"], recorder.Pending().Select(p => p.ErasureId));
        // Any of the ids it erased is recognised, by its hash; a hash that merely shares a prefix is not.
        Assert.Equal("era_2", recorder.ErasedBefore(ana));
        Assert.Equal("era_2", recorder.ErasedBefore(anon));
        Assert.Null(recorder.ErasedBefore(ana[..^4]));
        Assert.Null(recorder.ErasedBefore(PersonIds.Hash("bo")));
        // A completion run again (a resumed plan) never lowers the counts.
        other.Complete("era_2", Now.AddMinutes(3), [ana, anon], events: 0, blocks: 0);
        Assert.Equal(["done 9 2 "], Query(backend, "SELECT state || ' ' || events || ' ' || blocks || ' ' || coalesce(plan, '') FROM privacy_erasures WHERE erasure_id = 'era_2'"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Recording_the_same_erasure_twice_is_refused_rather_than_overwriting_its_plan(string backend)
    {
        var rows = Rows(backend);
        rows.Record("era_1", PersonIds.Hash("bo"), Now, """{"pseudonyms":{"bo":"psn_y"}}""");
        Assert.ThrowsAny<System.Data.Common.DbException>(() => rows.Record("era_1", PersonIds.Hash("bo"), Now, """{"pseudonyms":{"bo":"psn_z"}}"""));
        Assert.Equal("""{"pseudonyms":{"bo":"psn_y"}}""", Assert.Single(rows.Pending()).Plan);
    }

    private IErasureRows Rows(string backend)
    {
        if (backend == "sqlite")
        {
            return new SqliteErasureRows(HubDatabase.Open(Folder.Path));
        }
        var state = OpenState();
        return new PostgresErasureRows(state);
    }

    private List<string> Query(string backend, string sql)
    {
        if (backend == "sqlite")
        {
            return [.. StoredEvents.Query(Folder.Path, sql + ";")];
        }
        return [.. PostgresServer.ColumnAsync(Postgres, sql).GetAwaiter().GetResult().Select(v => v?.ToString() ?? "")];
    }
}
