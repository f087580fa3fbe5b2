namespace Atalaya.Engine.Demo;

/// <summary>
/// A shopper: a device (anonymous id, user agent, platform) that may have signed up (user id).
/// <see cref="Loyalty"/> is the chance they come back when picked again; it rises with each order,
/// which is what makes retention cohorts.
/// </summary>
internal sealed class DemoUser(string anonymousId, DemoCountry country, string hub, string platform, string device, string userAgent, string ip)
{
    public string AnonymousId { get; } = anonymousId;
    public DemoCountry Country { get; } = country;
    public string Hub { get; } = hub;
    public string Platform { get; } = platform;

    /// <summary>"desktop", "iphone", "android", "tablet" on the web; "app" in the native apps.</summary>
    public string Device { get; } = device;
    public string UserAgent { get; } = userAgent;
    public string Ip { get; } = ip;
    public string? UserId { get; set; }
    public double Loyalty { get; set; }
    public bool InPool { get; set; }
    public DemoStore? FavoriteStore { get; set; }

    public string AppId => Platform switch
    {
        "ios" => "tiendi-ios",
        "android" => "tiendi-android",
        _ => "tiendi-web",
    };
}
