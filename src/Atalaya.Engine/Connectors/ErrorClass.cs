namespace Atalaya.Engine.Connectors;

/// <summary>
/// Why a connector call failed (seed 002's classification), recorded in
/// <c>pipeline_runs.error_class</c> and on each dead letter. Only transient failures are retried
/// within a run; the others need a person (auth, schema) or time (quota).
/// </summary>
public enum ErrorClass
{
    /// <summary>Timeout, 429, 5xx, a refused connection, an open breaker: retried with backoff, then left for the next run.</summary>
    Transient,

    /// <summary>Missing, invalid, expired or revoked credentials: fails fast, rotate the secret.</summary>
    Auth,

    /// <summary>The provider's quota or rate limit for the account is used up: wait for it to reset, then replay.</summary>
    Quota,

    /// <summary>The answer is not the documented shape (garbage, a changed field): fails, the raw answer is kept.</summary>
    Schema,
}

/// <summary>A failed provider call, classified; the message never carries a credential.</summary>
internal sealed class ConnectorException(ErrorClass errorClass, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorClass ErrorClass { get; } = errorClass;
}

public static class ErrorClasses
{
    public static string Name(ErrorClass errorClass) => errorClass switch
    {
        ErrorClass.Transient => "transient",
        ErrorClass.Auth => "auth",
        ErrorClass.Quota => "quota",
        _ => "schema",
    };

    /// <summary>Which class a run with several failed days records: the one that needs a person first.</summary>
    public static ErrorClass Worst(IEnumerable<ErrorClass> classes) =>
        classes.OrderBy(c => c switch { ErrorClass.Auth => 0, ErrorClass.Schema => 1, ErrorClass.Quota => 2, _ => 3 }).First();

    /// <summary>What to do about it (docs/connectors.md has the long version).</summary>
    public static string Recovery(ErrorClass errorClass) => errorClass switch
    {
        ErrorClass.Transient => "the provider was slow or unavailable; the next scheduled run or `atalaya connectors replay` fetches the day again",
        ErrorClass.Auth => "rotate the credentials (docs/connectors.md, setup), then run `atalaya connectors replay`",
        ErrorClass.Quota => "the provider's quota is used up; wait for it to reset, then run `atalaya connectors replay`",
        _ => "the answer is kept in connector_pages; update the connector's mapping, then `atalaya connectors replay` reprocesses it without fetching",
    };
}
