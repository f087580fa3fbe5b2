using System.Text.Json;

namespace Atalaya.Bench.Query;

/// <summary>
/// One question asked of both sides: the hub's metrics API path and query string, the ClickHouse
/// SQL that answers the same question over the flattened table, and how each answer is reduced to
/// an <see cref="Answer"/> for the agreement check. <see cref="Dashboard"/> marks the questions a
/// dashboard asks on every refresh (p95 target 20 ms).
/// </summary>
public sealed record Question(
    string Title,
    string Short,
    string HubPath,
    bool Dashboard,
    Func<QueryClock, string> Sql,
    Func<JsonElement, QueryClock, Answer?> FromHub,
    Func<string[][], QueryClock, Answer> FromClickHouse,
    bool CompareHubKeysOnly = false);
