namespace Atalaya.Http;

/// <summary>A request refused as a whole: the JSON answer of a <see cref="BodyException"/>.</summary>
public sealed record ErrorResponse(bool Success, string Error);
