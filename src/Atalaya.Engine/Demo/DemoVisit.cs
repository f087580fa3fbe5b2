namespace Atalaya.Engine.Demo;

/// <summary>One session in progress: who, from where, and the clock that advances with each event.</summary>
internal sealed class DemoVisit(string sessionId, DemoUser user, string source, string userAgent, string? referrer, DateTime start)
{
    public string SessionId { get; } = sessionId;
    public DemoUser User { get; } = user;
    public string Source { get; } = source;
    public string UserAgent { get; } = userAgent;
    public DateTime Time { get; set; } = start;
    public string? Referrer { get; set; } = referrer;
    public string PageUrl { get; set; } = "";
    public int Events { get; set; }
}
