namespace Atalaya.Tests.Robustness;

/// <summary>
/// One hostile collector request and the statuses the contract allows for it. Every event id a
/// bad request carries starts with <c>bad-</c>, so the database can be searched for leaks.
/// </summary>
public sealed record BadRequest(string Name, string Path, byte[] Body, string? ContentType, string? Authorization, IReadOnlyList<int> Expected)
{
    public string? ContentEncoding { get; init; }

    /// <summary>Send with <c>Transfer-Encoding: chunked</c> (no Content-Length), so size limits must hold while streaming.</summary>
    public bool Chunked { get; init; }

    public string Category => Name[..Name.IndexOf('/', StringComparison.Ordinal)];

    public override string ToString() =>
        $"{Name} [POST {Path}, {Body.Length:N0} bytes, Content-Type: {ContentType ?? "(none)"}"
        + (ContentEncoding is null ? "" : $", Content-Encoding: {ContentEncoding}")
        + (Chunked ? ", chunked" : "") + $", expected {string.Join('/', Expected)}]";
}
