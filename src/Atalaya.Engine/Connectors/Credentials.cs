using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Atalaya.Engine.Connectors;

/// <summary>
/// Reads a provider's credentials from the file an environment variable points to, and signs the
/// JWTs the providers ask for. Credentials live only in memory for the length of a run: they are
/// never written to the data folder, a log, a run's error message or the audit, and messages
/// about them name the variable and the path, never the content.
/// </summary>
internal static class Credentials
{
    /// <summary>The content of the credentials file named by <paramref name="variable"/>, or an auth failure saying how to fix it.</summary>
    public static string Read(string variable, string what)
    {
        var path = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ConnectorException(ErrorClass.Auth, $"the environment variable {variable} is not set: set it to the path of {what} (docs/connectors.md)");
        }
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConnectorException(ErrorClass.Auth, $"{variable} points to {path}, which cannot be read ({e.GetType().Name}): it should be {what}");
        }
    }

    /// <summary>A compact JWS: base64url(header).base64url(payload).base64url(signature).</summary>
    public static string Jwt(Action<Utf8JsonWriter> header, Action<Utf8JsonWriter> payload, Func<byte[], byte[]> sign)
    {
        var signingInput = Base64Url(Json(header)) + "." + Base64Url(Json(payload));
        return signingInput + "." + Base64Url(sign(Encoding.ASCII.GetBytes(signingInput)));
    }

    /// <summary>RS256 (Google service accounts).</summary>
    public static Func<byte[], byte[]> Rs256(RSA key) => data => key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    /// <summary>ES256 (App Store Connect): the signature is r ‖ s, 64 bytes, as JWS requires.</summary>
    public static Func<byte[], byte[]> Es256(ECDsa key) => data => key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
