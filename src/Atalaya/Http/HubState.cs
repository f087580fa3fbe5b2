using Atalaya.Engine;

namespace Atalaya.Http;

/// <summary>
/// Holds the open <see cref="Engine.Hub"/> once it has loaded. The server listens (and answers
/// /healthz) while the event log's index is still loading; until then /readyz and the
/// collector answer 503 with Retry-After.
/// </summary>
public sealed class HubState
{
    private readonly TaskCompletionSource<Hub> _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Hub? _hub;

    public Hub? Current => _hub;

    /// <summary>The hub once it is open: what every background service waits for before it starts.</summary>
    public Task<Hub> OpenedAsync(CancellationToken cancellationToken) => _opened.Task.WaitAsync(cancellationToken);

    public Hub Require() => _hub ?? throw new BodyException(StatusCodes.Status503ServiceUnavailable,
        "The hub is starting (loading its event index); retry in a few seconds.");

    public void Set(Hub hub)
    {
        _hub = hub;
        _opened.TrySetResult(hub);
    }
}
