namespace Atalaya.Engine.Queue;

/// <summary>
/// The broker cannot take a message right now (down, unreachable, connection lost, no confirm in
/// time, or it refused the message). Nothing was acknowledged: the caller answers 503 with
/// Retry-After and the sender retries; event_id dedupe makes the retry safe.
/// </summary>
internal sealed class QueueUnavailableException : Exception
{
    public QueueUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    public QueueUnavailableException()
    {
    }

    public QueueUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Seconds a client should wait before it retries: one reconnect attempt of the publisher.</summary>
    public static int RetryAfterSeconds => 2;
}
