namespace Atalaya.Http;

/// <summary>What a cluster node started with <c>serve --role</c> takes (docs/scale-out.md, "Node roles"): the endpoints that take events ask here.</summary>
internal static class NodeRole
{
    /// <summary>A cluster node started with <c>--role answer</c> takes no events: 421, the request went to the wrong kind of node.</summary>
    /// <exception cref="BodyException">421 on an answering-only node.</exception>
    public static Engine.Hub RequireCollecting(Engine.Hub hub) => hub.Cluster is { Collects: false }
        ? throw new BodyException(StatusCodes.Status421MisdirectedRequest,
            "This cluster node only answers questions (serve --role answer) and takes no events; send them to a node started with --role collect or --role all (docs/scale-out.md, \"Node roles\").")
        : hub;
}
