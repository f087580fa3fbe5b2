namespace Atalaya.Tests.Kpi.Datasets;

/// <summary>The context dimensions an explicit event is sent with.</summary>
public sealed record Place(string? Country = "MX", string? Source = "google", string? Platform = "web", string? AppId = "shop-web", string? Hub = null)
{
    public static readonly Place Mexico = new();

    public static readonly Place Colombia = new("CO", "direct", "ios", "shop-ios");

    public static readonly Place Sweden = new("SE", "email", "android", "shop-android");

    public static readonly Place Chile = new("CL", "google", "web", "shop-web");

    public static readonly Place Backend = new(null, null, "server", "backend");
}
