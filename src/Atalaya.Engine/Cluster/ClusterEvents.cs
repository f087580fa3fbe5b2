using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// A cluster's events loaded once from ClickHouse into a KPI engine of a command's own, with the
/// marts' event positions over the same ClickHouse: what <c>atalaya backfill --clickhouse URL
/// --postgres CONNSTRING</c> recomputes closed days from, as a node's backfill does
/// (docs/scale-out.md, "Marts on a cluster"). Nothing is followed after the load: the days a
/// backfill rebuilds are closed.
/// </summary>
public sealed class ClusterEvents : IDisposable
{
    private readonly ClickHouseClient _clickHouse;

    private ClusterEvents(ClickHouseClient clickHouse, KpiEngine engine, long loaded)
    {
        _clickHouse = clickHouse;
        Engine = engine;
        Loaded = loaded;
        Positions = new ClusterEventPositions(clickHouse, () => true);
    }

    public KpiEngine Engine { get; }

    /// <summary>Positions on ClickHouse's insert clock, as a node's runs record them.</summary>
    public IEventPositions Positions { get; }

    /// <summary>Events loaded.</summary>
    public long Loaded { get; }

    /// <summary>How many events the cluster's ClickHouse holds (for a progress bar), then loads them all.</summary>
    /// <param name="started">Told the number of events about to be loaded.</param>
    /// <param name="progress">Told the events loaded so far.</param>
    /// <exception cref="ArgumentException">The URL is not a ClickHouse HTTP URL.</exception>
    /// <exception cref="InvalidOperationException">ClickHouse cannot be reached or refused a query; the message says which.</exception>
    public static async Task<ClusterEvents> LoadAsync(string clickHouseUrl, Action<long> started, Action<long> progress, CancellationToken ct)
    {
        var settings = ClickHouseSettings.Parse(clickHouseUrl);
        var client = new ClickHouseClient(settings);
        try
        {
            started(await client.ScalarInt64Async($"SELECT count() FROM {EventsSchema.Events}", ct).ConfigureAwait(false));
            var engine = new KpiEngine(KpiDictionary.Default);
            var loaded = await ClusterFeed.LoadOnceAsync(client, engine, progress, ct).ConfigureAwait(false);
            return new ClusterEvents(client, engine, loaded);
        }
        catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException)
        {
            client.Dispose();
            throw new InvalidOperationException($"ClickHouse at {settings.Url} database {settings.Database}: {e.Message}", e);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public void Dispose() => _clickHouse.Dispose();
}
