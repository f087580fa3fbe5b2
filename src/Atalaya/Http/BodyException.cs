namespace Atalaya.Http;

/// <summary>
/// A request refused as a whole, with its status code and a message that says what to fix; every
/// feature's endpoints throw it and the host turns it into the JSON error answer.
/// </summary>
public sealed class BodyException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
