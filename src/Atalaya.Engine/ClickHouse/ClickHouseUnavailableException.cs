namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// ClickHouse could not be reached or did not answer in time (connection refused, reset, timeout,
/// an HTTP error without a ClickHouse error text): the statement may be retried later, and a
/// caller answering HTTP answers 503 with Retry-After.
/// </summary>
internal sealed class ClickHouseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
