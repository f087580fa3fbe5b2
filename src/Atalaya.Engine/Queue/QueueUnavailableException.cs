using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

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

    /// <summary>
    /// The error for a failed connect and declare: a queue that exists with other arguments is named
    /// as such (the broker's words and what to do), anything else is an unreachable broker.
    /// </summary>
    internal static QueueUnavailableException OnConnect(string endpoint, Exception e) =>
        e is OperationInterruptedException { ShutdownReason: { ReplyCode: Constants.PreconditionFailed } refusal }
            ? new QueueUnavailableException($"RabbitMQ at {endpoint} refused the event queues: {refusal.ReplyText}. A queue of that name exists with other arguments (made by hand or by another release); drain and delete it, or choose another prefix", e)
            : new QueueUnavailableException($"RabbitMQ at {endpoint} is unreachable: {e.InnerException?.Message ?? e.Message}", e);

    /// <summary>Seconds a client should wait before it retries: one reconnect attempt of the publisher.</summary>
    public static int RetryAfterSeconds => 2;
}
