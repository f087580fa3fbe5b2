using Atalaya.Engine.Access;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Recommendations;
using Atalaya.Engine.Reports;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine;

/// <summary>
/// One open data folder: the database, the event log (with its dedupe index and store dimension
/// loaded), the FX table, the ingest pipeline and the tokens. The server, the CLI commands and
/// the tests all work through a Hub, so they share one way of opening and closing the store.
/// </summary>
public sealed class Hub : IAsyncDisposable
{
    private Hub(string dataDirectory, HubDatabase database, EventLog log, FxRateTable fx, IngestPipeline pipeline, TokenStore tokens, KpiEngine kpis, RecommendationModel recommendations,
        Postgres.PostgresState? postgres, Cluster.ClusterNode? cluster, Cluster.SharedQuarantine? sharedRefusals)
    {
        DataDirectory = dataDirectory;
        Recommendations = recommendations;
        Kpis = kpis;
        Audit = postgres is null ? new AuditLog(database, kpis.Time) : new AuditLog(postgres, kpis.Time);
        Marts = MartStore.For(database, postgres);
        Database = database;
        Log = log;
        Fx = fx;
        Pipeline = pipeline;
        Tokens = tokens;
        PersonalData = new Privacy.PersonalDataStores(database, log, kpis, recommendations, Audit, SnapshotPath(dataDirectory))
        {
            ClusterEvents = cluster?.ClickHouse,
            SharedRefusals = sharedRefusals,
        };
        Erasure = new Privacy.PersonErasure(PersonalData);
    }

    public HubDatabase Database { get; }

    public EventLog Log { get; }

    public FxRateTable Fx { get; }

    /// <summary>Where <see cref="Fx"/> is kept and re-read from: the data folder, or the cluster's PostgreSQL shared by every node.</summary>
    public IFxRateRows FxRows { get; private init; } = null!;

    public IngestPipeline Pipeline { get; }

    public TokenStore Tokens { get; }

    /// <summary>The hash-chained audit log of reads and administrative changes (on a cluster with PostgreSQL, the cluster's one chain).</summary>
    public AuditLog Audit { get; }

    /// <summary>Where the marts and fact_kpi_daily are: the data folder, or on a cluster the PostgreSQL every node shares.</summary>
    public MartStore Marts { get; }

    /// <summary>The KPI engine, in step with every committed event.</summary>
    public KpiEngine Kpis { get; }

    /// <param name="cluster">On a cluster (docs/scale-out.md), where accepted events go instead of this data folder's log.</param>
    /// <param name="postgres">On a cluster, the PostgreSQL state shared by every node (tokens, job runs and locks, the audit log, alerts and their outbox, SLO counts); its opener disposes it after the hub.</param>
    public static Hub Open(string dataDirectory, IngestOptions? options = null, TimeProvider? time = null, int? maxPageCount = null, Cluster.ClusterNode? cluster = null,
        Postgres.PostgresState? postgres = null)
    {
        var database = HubDatabase.Open(dataDirectory, maxPageCount);
        // On a cluster with PostgreSQL every node reads the same rates, so every collector freezes the same one.
        var fxRows = FxRateRows.Of(database, postgres);
        var fx = FxRateTable.Load(fxRows);
        // The dedupe index and the KPI projection are independent and each takes seconds at 10M
        // events (most of it the first touch of their memory), so they load on two threads. The
        // projection is loaded before the log is followed and before anything can be appended (the
        // pipeline does not exist yet): no event is missed or applied twice. The index loads on a
        // thread of its own, not the pool's: a busy pool (a host with many hubs, a starved test
        // process) would otherwise hold the start until it injects a thread.
        var opening = Task.Factory.StartNew(() => EventLog.Open(database), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var kpis = new KpiEngine(KpiDictionary.Default, time);
        IReadOnlyList<Privacy.ErasurePlan> erasures;
        using (var connection = database.Connect())
        {
            // An erasure a crash interrupted is finished first: the projection must not see its old ids.
            erasures = Privacy.PersonErasure.ResumePending(connection);
            kpis.Load(connection, SnapshotPath(dataDirectory), beforeReplay: p => Privacy.PersonErasure.Rekey(p, erasures));
        }
        var log = opening.GetAwaiter().GetResult();
        log.QuarantinePerSourcePerHour = (options ?? new IngestOptions()).QuarantinePerSourcePerHour;
        kpis.Follow(log);
        // Dormant until the server starts it (RecommendationModel.Start): CLI commands pay nothing.
        var recommendations = new RecommendationModel();
        recommendations.Follow(log);
        // A cluster node with PostgreSQL keeps the events it refuses there, with every other node's.
        var sharedRefusals = cluster is null || postgres is null
            ? null
            : new Cluster.SharedQuarantine(postgres, (options ?? new IngestOptions()).QuarantinePerSourcePerHour);
        var pipeline = cluster is null
            ? new IngestPipeline(log, EventCatalog.Default, fx, options ?? new IngestOptions(), time)
            : new IngestPipeline(cluster.SinkFor(log, sharedRefusals), EventCatalog.Default, fx, options ?? new IngestOptions(), time);
        var hub = new Hub(dataDirectory, database, log, fx, pipeline, postgres is null ? new TokenStore(database, time) : new TokenStore(postgres, time), kpis, recommendations, postgres, cluster, sharedRefusals)
        {
            Health = new Quality.FigureHealthReader(database, KpiDictionary.Default, EventCatalog.Default, kpis, Quality.QualityRows.For(database, postgres)),
            QualityResults = Quality.QualityRows.For(database, postgres),
            Cluster = cluster,
            Jobs = postgres is null ? JobState.Embedded(database) : JobState.Shared(postgres),
            FxRows = fxRows,
            Reports = ReportStore.For(database, postgres),
            AlertRows = Alerts.AlertRows.Of(database, postgres),
            SloRows = Slo.SloRows.Of(database, postgres),
        };
        if (cluster is not null && postgres is not null)
        {
            hub.ClusterErasure = new Privacy.ClusterErasure(cluster, new Privacy.PostgresErasureRows(postgres), sharedRefusals!, hub.Audit, hub.Jobs.Locks, database, kpis.Time);
        }
        Privacy.PersonErasure.CompletePending(hub.PersonalData, erasures);
        return hub;
    }

    public string DataDirectory { get; }

    /// <summary>The cluster this hub's collector publishes to, or null for the embedded hub (docs/scale-out.md).</summary>
    public Cluster.ClusterNode? Cluster { get; private init; }

    /// <summary>Where jobs record their runs and take their locks: the data folder, or the cluster's PostgreSQL shared by every node.</summary>
    public JobState Jobs { get; private init; } = null!;

    /// <summary>The stored reports: the data folder's, or the cluster's PostgreSQL shared by every node (docs/reports.md).</summary>
    public ReportStore Reports { get; private init; } = null!;

    /// <summary>The dq_health runs' findings: the data folder's, or the cluster's PostgreSQL shared by every node (docs/quality.md).</summary>
    public Quality.IQualityRows QualityResults { get; private init; } = null!;
    /// <summary>Where the alerts and the notification outbox live: the data folder, or the cluster's PostgreSQL shared by every node.</summary>
    public Alerts.IAlertRows AlertRows { get; private init; } = null!;

    /// <summary>Where the SLO hour counts live: the data folder, or the cluster's PostgreSQL, where every node adds its own.</summary>
    public Slo.ISloRows SloRows { get; private init; } = null!;

    /// <summary>The data-quality state every KPI answer and report carries (docs/quality.md).</summary>
    public Quality.FigureHealthReader Health { get; private init; } = null!;

    /// <summary>Erasure of one person's data (docs/privacy.md).</summary>
    public Privacy.PersonErasure Erasure { get; }

    /// <summary>Erasure on a cluster node with PostgreSQL (docs/privacy.md); null elsewhere (the embedded hub uses <see cref="Erasure"/>; a cluster node without PostgreSQL cannot erase).</summary>
    public Privacy.ClusterErasure? ClusterErasure { get; private set; }

    /// <summary>The storefront's recommendation model, following the log once started.</summary>
    public RecommendationModel Recommendations { get; }

    /// <summary>Every store that holds a person's data, for access requests and erasures (docs/privacy.md).</summary>
    public Privacy.PersonalDataStores PersonalData { get; }

    /// <summary>Where the KPI projection's snapshot lives: a cache beside the database, rebuilt from raw when missing.</summary>
    public static string SnapshotPath(string dataDirectory) => Path.Combine(dataDirectory, "kpi-projection.bin");

    /// <summary>Saves the KPI projection when at least <paramref name="minNewEvents"/> events arrived since the last snapshot.</summary>
    public bool SaveSnapshotIfBehind(long minNewEvents)
    {
        // A cluster node's projection is loaded from ClickHouse at every start, not from a snapshot.
        if (Cluster is not null || Kpis.Projection.LastSeq - Kpis.SnapshotSeq < Math.Max(1, minNewEvents))
        {
            return false;
        }
        Kpis.SaveSnapshot(SnapshotPath(DataDirectory));
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync().ConfigureAwait(false);
        await Audit.DisposeAsync().ConfigureAwait(false);
        try
        {
            SaveSnapshotIfBehind(1);
        }
        catch (IOException)
        {
            // Only a cache (a full disk): the next start replays the blocks after the last snapshot.
        }
        try
        {
            Tokens.FlushLastUsed();
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or Postgres.StateUnavailableException)
        {
            // Last-used times are informative; a full disk (or PostgreSQL away) at shutdown loses the last few seconds of them.
        }
    }
}
