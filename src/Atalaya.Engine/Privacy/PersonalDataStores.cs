using Atalaya.Engine.Audit;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Recommendations;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// Every place of an open hub that holds a person's data, which an access request reads and an
/// erasure rewrites: the database (pending erasures, tokens' audit), the event log, the KPI
/// projection and its snapshot file, the recommendation model and the audit log.
/// </summary>
public sealed record PersonalDataStores(HubDatabase Database, EventLog Log, KpiEngine Kpis, RecommendationModel Recommendations, AuditLog Audit, string SnapshotPath)
{
    /// <summary>On a cluster node, where the cluster's events are (docs/scale-out.md); null on the embedded hub, whose events are in <see cref="Log"/>.</summary>
    internal ClickHouse.ClickHouseClient? ClusterEvents { get; init; }

    /// <summary>On a cluster node with PostgreSQL, where every node keeps the events it refused; null where they are in <see cref="Database"/>.</summary>
    internal Cluster.SharedQuarantine? SharedRefusals { get; init; }
}
