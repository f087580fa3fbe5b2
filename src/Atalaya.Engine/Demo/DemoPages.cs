namespace Atalaya.Engine.Demo;

/// <summary>
/// The URLs of the Tiendi storefront: localized web paths on each country's host, and the
/// <c>tiendi://</c> screens of the mobile apps.
/// </summary>
internal static class DemoPages
{
    private static readonly string[] SpanishCampaigns = ["promo_semana", "envio_gratis", "nuevos_usuarios"];
    private static readonly string[] SwedishCampaigns = ["veckans_erbjudande", "fri_frakt", "nya_kunder"];

    public static string Home(DemoUser user) => Web(user) ? $"https://{user.Country.WebHost}/" : "tiendi://home";

    public static string Landing(DemoUser user, string source, Random rng)
    {
        if (!Web(user) || source == "direct")
        {
            return Home(user);
        }
        var medium = source switch
        {
            "google" => "cpc",
            "email" => "email",
            _ => "paid_social",
        };
        var campaign = rng.Pick(user.Country.Swedish ? SwedishCampaigns : SpanishCampaigns);
        return $"https://{user.Country.WebHost}/?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}";
    }

    public static string Category(DemoUser user, DemoCategory category) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "categorias", "kategorier")}/{category.Name}" : $"tiendi://category/{category.Name}";

    public static string Store(DemoUser user, DemoStore store) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "tiendas", "butiker")}/{store.Id}" : $"tiendi://store/{store.Id}";

    public static string Product(DemoUser user, DemoStore store, DemoProduct product) =>
        Web(user) ? $"{Store(user, store)}/{Word(user, "productos", "produkter")}/{product.Id}" : $"tiendi://store/{store.Id}/product/{product.Id}";

    public static string Search(DemoUser user, string query) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "buscar", "sok")}?q={Uri.EscapeDataString(query)}" : $"tiendi://search?q={Uri.EscapeDataString(query)}";

    public static string SignUp(DemoUser user) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "registro", "registrera")}" : "tiendi://signup";

    public static string Business(DemoUser user) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "empresas", "foretag")}" : "tiendi://business";

    public static string Cart(DemoUser user) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "carrito", "varukorg")}" : "tiendi://cart";

    public static string Checkout(DemoUser user) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "checkout", "kassa")}" : "tiendi://checkout";

    public static string Order(DemoUser user, string orderId) =>
        Web(user) ? $"https://{user.Country.WebHost}/{Word(user, "pedidos", "ordrar")}/{orderId}" : $"tiendi://order/{orderId}";

    /// <summary>Where a visitor from <paramref name="source"/> comes from; apps and typed-in visits send none.</summary>
    public static string? Referrer(DemoUser user, string source)
    {
        if (!Web(user))
        {
            return null;
        }
        return source switch
        {
            "google" => user.Country.Code switch
            {
                "MX" => "https://www.google.com.mx/",
                "CO" => "https://www.google.com.co/",
                "CL" => "https://www.google.cl/",
                _ => "https://www.google.se/",
            },
            "facebook" => "https://l.facebook.com/",
            "instagram" => "https://l.instagram.com/",
            "tiktok" => "https://www.tiktok.com/",
            _ => null,
        };
    }

    private static bool Web(DemoUser user) => user.Platform == "web";

    private static string Word(DemoUser user, string spanish, string swedish) => user.Country.Swedish ? swedish : spanish;
}
