namespace Atalaya.Engine.Collect;

/// <summary>Temporary stand-in; replaced by the rule-table parser.</summary>
public static class UserAgentParser
{
    public static UserAgentInfo Parse(string? userAgent) => new("unknown", "unknown", "unknown");
}
