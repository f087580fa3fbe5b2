namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// A temporary table sent with a query (ClickHouse's "external data"): its name in the query,
/// its structure (<c>event_id String</c>) and its rows, each already one TabSeparated line
/// (see <see cref="TabSeparated.Escape"/>).
/// </summary>
internal sealed record ExternalTable(string Name, string Structure, IEnumerable<string> Rows);
