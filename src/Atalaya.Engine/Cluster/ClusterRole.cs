namespace Atalaya.Engine.Cluster;

/// <summary>
/// What a cluster node does (<c>serve --role</c>, docs/scale-out.md "Node roles"). A node that does
/// everything is the simplest cluster; separate collecting and answering nodes let each side be
/// sized for its own load: collectors for events per second (no projection in memory), answering
/// nodes for questions and memory.
/// </summary>
public enum ClusterRole
{
    /// <summary>Collects, writes to ClickHouse and answers (the default).</summary>
    All,

    /// <summary>Collects and writes; holds no KPI projection and answers no questions (421).</summary>
    Collect,

    /// <summary>Answers from a projection that follows the cluster's writes; takes no events (421) and consumes no shard.</summary>
    Answer,
}

public static class ClusterRoles
{
    /// <summary>The names <c>serve --role</c> takes.</summary>
    public static IReadOnlyList<string> Names { get; } = ["all", "collect", "answer"];

    public static bool TryParse(string? text, out ClusterRole role)
    {
        role = text switch
        {
            "all" => ClusterRole.All,
            "collect" => ClusterRole.Collect,
            "answer" => ClusterRole.Answer,
            _ => (ClusterRole)(-1),
        };
        return Enum.IsDefined(role);
    }

    public static string Name(this ClusterRole role) => Names[(int)role];
}
