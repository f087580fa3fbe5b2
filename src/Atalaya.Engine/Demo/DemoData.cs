namespace Atalaya.Engine.Demo;

/// <summary>
/// The fixed ingredients of the demo marketplace: markets, categories, products, user agents and
/// the shapes of daily and weekly traffic. Changing anything here changes the generated data for
/// every seed, so treat it like a fixture.
/// </summary>
internal static class DemoData
{
    public static readonly DemoCountry[] Countries =
    [
        new("MX", "MXN", 2, -6, "tiendi.mx", false, 0.16m, 0.38,
            ["cdmx-norte", "cdmx-sur", "guadalajara-centro"], 13, 2, 0.055, 0.5m, 25m, 49m, 899m, 2699m, 0.22, 0.30,
            [("card", "stripe"), ("card", "stripe"), ("card", "mercadopago"), ("wallet", "mercadopago"), ("oxxo_pay", "conekta")]),
        new("CO", "COP", 2, -5, "tiendi.com.co", false, 0.19m, 0.27,
            ["bogota-chapinero", "bogota-usaquen", "medellin-poblado"], 10, 2, 0.00025, 100m, 3900m, 7900m, 199000m, 599000m, 0.18, 0.36,
            [("card", "payu"), ("card", "payu"), ("pse", "wompi"), ("nequi", "wompi"), ("card", "mercadopago")]),
        new("CL", "CLP", 0, -4, "tiendi.cl", false, 0.19m, 0.20,
            ["santiago-centro", "santiago-providencia", "vina-del-mar"], 8, 1, 0.00105, 10m, 990m, 2490m, 45000m, 139000m, 0.25, 0.28,
            [("card", "transbank"), ("debit", "transbank"), ("debit", "transbank"), ("card", "mercadopago")]),
        new("SE", "SEK", 2, 1, "tiendi.se", true, 0.25m, 0.15,
            ["stockholm-city", "stockholm-sodermalm", "goteborg-centrum"], 5, 1, 0.095, 1m, 29m, 59m, 499m, 1499m, 0.38, 0.17,
            [("swish", "swish"), ("swish", "swish"), ("card", "adyen"), ("klarna", "klarna"), ("apple_pay", "adyen")]),
    ];

    public static readonly DemoCategory[] Categories =
    [
        new("restaurant", 0.36, 0.20m, (8, 30), (12, 35),
            [new("", "", 1.0), new(" grande", " stor", 1.35), new(" para compartir", " att dela", 2.1)],
            [
                new("Tacos al pastor", "tacos", 4), new("Hamburguesa clásica", "hamburguesas", 7), new("Pizza margarita", "pizzas", 9),
                new("Empanada de pino", "empanadas", 2.5), new("Arepa de queso", "arepas", 3), new("Ceviche mixto", "mariscos", 10),
                new("Roll California", "sushi", 8), new("Pollo asado", "pollo", 9), new("Ensalada César", "ensaladas", 6),
                new("Limonada natural", "bebidas", 2), new("Flan casero", "postres", 2.5), new("Burrito de res", "burritos", 6),
                new("Bandeja paisa", "platos fuertes", 9), new("Papas fritas", "acompañamientos", 2.5),
            ],
            [
                new("Pizza Capricciosa", "pizza", 12), new("Hamburgare med pommes", "hamburgare", 13), new("Sushi 12 bitar", "sushi", 15),
                new("Pad thai", "thai", 12), new("Falafeltallrik", "vegetariskt", 10), new("Köttbullar med potatismos", "husman", 14),
                new("Caesarsallad", "sallad", 11), new("Kebabrulle", "kebab", 9), new("Kanelbulle", "fika", 3), new("Lingondricka", "dryck", 2.5),
            ],
            ["Taquería El Güero", "La Fonda de Doña Lupe", "Arepas La Reina", "Pollos El Dorado", "Sushi Nikkei", "Pizzería Napoli",
             "Burger Barrio", "Cevichería Mar Azul", "Empanadas Don Pancho", "Sánguches La Esquina", "Dragón Dorado", "Parrilla Los Andes",
             "Bowl Verde", "Antojitos Mamá Rosa", "Café Origen"],
            ["Pizzeria Roma", "Sushibaren", "Burgerköket", "Thai Kitchen", "Falafelhörnan", "Husmanskost Stugan"]),
        new("grocery", 0.26, 0.10m, (10, 40), (15, 45),
            [new("", "", 1.0), new(" orgánico", " ekologisk", 1.6), new(" pack x3", " 3-pack", 2.7)],
            [
                new("Leche entera 1 L", "lácteos", 1.2), new("Huevos x12", "huevos", 3), new("Pan de molde", "panadería", 2),
                new("Arroz 1 kg", "despensa", 1.5), new("Aguacate hass", "frutas y verduras", 1), new("Plátanos 1 kg", "frutas y verduras", 1.2),
                new("Café molido 500 g", "despensa", 7), new("Queso fresco", "lácteos", 4), new("Pechuga de pollo 1 kg", "carnes", 6),
                new("Agua mineral 1,5 L", "bebidas", 1), new("Yogur natural", "lácteos", 1.8), new("Aceite de oliva", "despensa", 8),
            ],
            [
                new("Mjölk 1,5 l", "mejeri", 1.6), new("Ägg 12-pack", "ägg", 4), new("Knäckebröd", "bröd", 3), new("Bananer 1 kg", "frukt och grönt", 2.5),
                new("Kaffe 450 g", "skafferi", 7), new("Ost Präst", "mejeri", 9), new("Kycklingfilé 1 kg", "kött", 11), new("Havregryn", "skafferi", 2),
                new("Filmjölk", "mejeri", 1.8), new("Pasta 1 kg", "skafferi", 2.5),
            ],
            ["Mercado Fresco", "Súper Del Barrio", "Frutas y Verduras Don Beto", "Abarrotes La Paz", "Minimarket Express",
             "Carnicería San Juan", "Panadería La Espiga", "Despensa Central"],
            ["Matbutiken", "Frukt & Grönt", "Närlivs Hörnet", "Skafferiet"]),
        new("pharmacy", 0.14, 0.08m, (5, 15), (12, 35),
            [new("", "", 1.0), new(" x2", " 2-pack", 1.9), new(" tamaño familiar", " storpack", 1.7)],
            [
                new("Paracetamol 500 mg", "analgésicos", 3), new("Ibuprofeno 400 mg", "analgésicos", 4), new("Vitamina C", "vitaminas", 8),
                new("Protector solar FPS 50", "cuidado personal", 14), new("Alcohol en gel", "higiene", 3), new("Pañales etapa 3", "bebés", 15),
                new("Shampoo anticaspa", "cuidado personal", 7), new("Curitas x20", "botiquín", 3), new("Suero oral", "hidratación", 2),
                new("Crema hidratante", "dermocosmética", 12),
            ],
            [
                new("Alvedon 500 mg", "värktabletter", 5), new("Ipren 400 mg", "värktabletter", 6), new("C-vitamin", "vitaminer", 9),
                new("Solskydd SPF 50", "hudvård", 15), new("Handsprit", "hygien", 4), new("Blöjor storlek 4", "barn", 16),
                new("Schampo mjäll", "hårvård", 7), new("Plåster 20 st", "första hjälpen", 4), new("Ansiktskräm", "hudvård", 13),
                new("Nässpray", "förkylning", 6),
            ],
            ["Farmacia Salud+", "Droguería Bienestar", "Farmacia del Parque", "Botica Vital", "Farmacia 24 Horas"],
            ["Apotek Linnéa", "Hälsoapoteket", "Apotek Stjärnan"]),
        new("electronics", 0.10, 0.09m, (15, 60), (40, 180),
            [new("", "", 1.0), new(" Pro", " Pro", 1.6), new(" Lite", " Lite", 0.7)],
            [
                new("Audífonos Bluetooth", "audio", 35), new("Cargador USB-C 20W", "accesorios", 18), new("Cable USB-C 1 m", "accesorios", 8),
                new("Parlante portátil", "audio", 45), new("Smartwatch", "wearables", 90), new("Batería externa 10000 mAh", "accesorios", 25),
                new("Funda para celular", "accesorios", 10), new("Mouse inalámbrico", "computación", 15), new("Teclado mecánico", "computación", 60),
                new("Tablet 10 pulgadas", "tablets", 220), new("Celular gama media", "celulares", 250),
            ],
            [
                new("Bluetooth-hörlurar", "ljud", 40), new("USB-C-laddare 20 W", "tillbehör", 20), new("USB-C-kabel 1 m", "tillbehör", 10),
                new("Bärbar högtalare", "ljud", 50), new("Smartklocka", "wearables", 120), new("Powerbank 10000 mAh", "tillbehör", 28),
                new("Mobilskal", "tillbehör", 15), new("Trådlös mus", "dator", 20), new("Mekaniskt tangentbord", "dator", 70),
                new("Surfplatta 10 tum", "surfplattor", 250),
            ],
            ["TecnoPunto", "Celulares y Más", "Digital Store", "Gadget House", "ElectroHogar"],
            ["Teknikhörnan", "Mobilshopen"]),
        new("fashion", 0.14, 0.15m, (10, 45), (40, 150),
            [new(" negro", " svart", 1.0), new(" blanco", " vit", 1.0), new(" azul", " blå", 1.05)],
            [
                new("Camiseta básica", "ropa", 12), new("Jeans slim", "ropa", 35), new("Zapatillas urbanas", "calzado", 55),
                new("Chaqueta impermeable", "ropa", 60), new("Vestido de verano", "ropa", 30), new("Gorra", "accesorios", 12),
                new("Bolso de cuero", "accesorios", 50), new("Calcetines x3", "ropa", 8), new("Sudadera con capucha", "ropa", 32),
                new("Sandalias", "calzado", 22),
            ],
            [
                new("T-shirt", "kläder", 15), new("Slim jeans", "kläder", 45), new("Sneakers", "skor", 80), new("Regnjacka", "kläder", 90),
                new("Sommarklänning", "kläder", 40), new("Keps", "accessoarer", 18), new("Läderväska", "accessoarer", 70),
                new("Strumpor 3-pack", "kläder", 10), new("Huvtröja", "kläder", 40), new("Sandaler", "skor", 30),
            ],
            ["Moda Urbana", "Boutique Alma", "Calzado Andino", "Tienda Lino", "Street Style"],
            ["Modehuset", "Skobutiken", "Stilverket"]),
    ];

    // Relative session starts per local hour: a lunch and a dinner peak, quiet nights.
    public static readonly double[] HourWeights =
    [
        0.30, 0.15, 0.10, 0.07, 0.07, 0.12, 0.30, 0.60, 0.80, 0.90, 1.00, 1.30,
        1.80, 2.00, 1.60, 1.10, 1.00, 1.20, 1.60, 2.10, 2.20, 1.70, 1.00, 0.60,
    ];

    // Sunday first (DayOfWeek order); averages 1 so SessionsPerDay stays the mean.
    public static readonly double[] WeekdayFactors = [0.86, 1.02, 1.03, 1.04, 1.06, 1.08, 0.91];

    public static readonly (string Source, double Weight)[] WebSources =
        [("google", 0.30), ("direct", 0.25), ("facebook", 0.13), ("instagram", 0.12), ("tiktok", 0.12), ("email", 0.08)];

    public static readonly (string Source, double Weight)[] AppSources =
        [("direct", 0.60), ("email", 0.10), ("facebook", 0.09), ("instagram", 0.10), ("tiktok", 0.06), ("google", 0.05)];

    public static readonly string[] DesktopUserAgents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    ];

    public static readonly string[] IphoneUserAgents =
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
    ];

    public static readonly string[] AndroidPhoneUserAgents =
    [
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
    ];

    public static readonly string[] TabletUserAgents =
    [
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36",
    ];

    public const string FacebookIphoneUserAgent =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.48.109;FBBV/594254484;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4.1;FBSS/3;FBID/phone;FBLC/es_LA;FBOP/5;FBRV/596178826]";

    public const string FacebookAndroidUserAgent =
        "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.48.109;]";

    public const string InstagramIphoneUserAgent =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 329.0.3.29.120 (iPhone14,5; iOS 17_4_1; es_MX; es; scale=3.00; 1170x2532; 590745018)";

    public const string InstagramAndroidUserAgent =
        "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Instagram 329.0.0.41.93 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 7; panther; panther; es_CO; 594104474)";

    public static readonly string[] IosAppUserAgents =
    [
        "Tiendi/4.12.0 CFNetwork/1494.0.7 Darwin/23.4.0",
        "Tiendi/4.12.0 CFNetwork/1494.0.7 Darwin/23.4.0",
        "Tiendi/4.11.2 CFNetwork/1490.0.4 Darwin/23.2.0",
        "Tiendi/4.10.0 CFNetwork/1410.0.3 Darwin/22.6.0",
    ];

    public static readonly string[] AndroidAppUserAgents =
    [
        "okhttp/4.12.0",
        "okhttp/4.12.0",
        "okhttp/4.11.0",
        "Dalvik/2.1.0 (Linux; U; Android 14; SM-A546B Build/UP1A.231005.007)",
        "Dalvik/2.1.0 (Linux; U; Android 13; moto g(60) Build/T1RD33.116-33-3)",
    ];

    public static readonly string[] FailureCodes =
        ["card_declined", "card_declined", "insufficient_funds", "insufficient_funds", "expired_card", "processing_error", "authentication_required", "fraud_suspected"];

    public static int IndexOf(DemoCountry country)
    {
        for (var i = 0; i < Countries.Length; i++)
        {
            if (ReferenceEquals(Countries[i], country))
            {
                return i;
            }
        }
        throw new ArgumentException($"{country.Code} is not a demo country.", nameof(country));
    }
}
