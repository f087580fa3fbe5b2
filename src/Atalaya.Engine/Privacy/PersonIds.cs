using System.Security.Cryptography;
using System.Text;

namespace Atalaya.Engine.Privacy;

/// <summary>Which id a privacy request names: a user id, or an anonymous id.</summary>
public readonly record struct PersonRef(string Id, bool IsUser)
{
    /// <summary>The longest id a request may name (stored ids are at most this long too).</summary>
    public const int MaxLength = 256;

    public string Kind => IsUser ? "user_id" : "anonymous_id";
}

/// <summary>
/// How the hub names a person without their id: a SHA-256 hash for the audit log and the record of
/// erasures (so a repeated request is recognised without keeping the id), and a random pseudonym for
/// the events an erasure rewrites.
/// </summary>
public static class PersonIds
{
    /// <summary><c>sha256:&lt;hex&gt;</c> of the id: what audit entries and erasure records hold instead of it.</summary>
    public static string Hash(string id) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    /// <summary>A fresh random pseudonym (128 random bits): nothing outside the hub can lead back to the person.</summary>
    public static string NewPseudonym() => "psn_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Query and body member names that carry a person's id (the audit log hashes their values).</summary>
    public static bool IsPersonIdName(string name) =>
        name is "user_id" or "anonymous_id" or "userId" or "anonymousId";
}
