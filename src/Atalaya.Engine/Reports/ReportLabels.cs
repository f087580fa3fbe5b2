using Atalaya.Engine.Kpi;

namespace Atalaya.Engine.Reports;

/// <summary>The words of the HTML reports in Spanish, Swedish and English (the marketplace's languages).</summary>
internal sealed record ReportLabels(
    string WeeklyTitle,
    string MonthlyTitle,
    string Platform,
    string Store,
    string Country,
    string Period,
    string Generated,
    string Kpi,
    string Last7,
    string Previous7,
    string Last28,
    string Previous28,
    string ThisMonth,
    string PreviousMonth,
    string Change,
    string DailyTrend,
    string ByCountry,
    string TopSources,
    string TopCountries,
    string Source,
    string NoData,
    string Footer,
    IReadOnlyDictionary<KpiId, string> Kpis)
{
    private static readonly ReportLabels Spanish = new(
        "Informe semanal", "Informe mensual", "Toda la plataforma", "Tienda", "País", "Periodo", "Generado", "Indicador",
        "Últimos 7 días", "7 días anteriores", "Últimos 28 días", "28 días anteriores", "Este mes", "Mes anterior", "Cambio",
        "Evolución diaria", "Por país (últimos 7 días)", "Top 5 fuentes de tráfico", "Top 5 países", "Fuente", "Sin datos",
        "Cifras iguales a GET /api/kpi/query para el mismo alcance y periodo (días en UTC).",
        new Dictionary<KpiId, string>
        {
            [KpiId.Gmv] = "GMV",
            [KpiId.Orders] = "Pedidos",
            [KpiId.Aov] = "Ticket promedio",
            [KpiId.Revenue] = "Ingresos",
            [KpiId.Commissions] = "Comisiones",
            [KpiId.Visitors] = "Visitantes",
            [KpiId.Sessions] = "Sesiones",
            [KpiId.ConversionRate] = "Tasa de conversión",
            [KpiId.PaymentsSuccessRate] = "Pagos exitosos",
            [KpiId.Leads] = "Leads",
            [KpiId.NewCustomers] = "Clientes nuevos",
            [KpiId.ActiveStores] = "Tiendas activas",
            [KpiId.CartAbandonmentRate] = "Abandono de carrito",
        });

    private static readonly ReportLabels Swedish = new(
        "Veckorapport", "Månadsrapport", "Hela plattformen", "Butik", "Land", "Period", "Skapad", "Nyckeltal",
        "Senaste 7 dagarna", "Föregående 7 dagar", "Senaste 28 dagarna", "Föregående 28 dagar", "Denna månad", "Föregående månad", "Förändring",
        "Utveckling per dag", "Per land (senaste 7 dagarna)", "Topp 5 trafikkällor", "Topp 5 länder", "Källa", "Inga data",
        "Siffrorna är desamma som GET /api/kpi/query för samma omfattning och period (dagar i UTC).",
        new Dictionary<KpiId, string>
        {
            [KpiId.Gmv] = "GMV",
            [KpiId.Orders] = "Ordrar",
            [KpiId.Aov] = "Snittorder",
            [KpiId.Revenue] = "Intäkter",
            [KpiId.Commissions] = "Provisioner",
            [KpiId.Visitors] = "Besökare",
            [KpiId.Sessions] = "Sessioner",
            [KpiId.ConversionRate] = "Konverteringsgrad",
            [KpiId.PaymentsSuccessRate] = "Lyckade betalningar",
            [KpiId.Leads] = "Leads",
            [KpiId.NewCustomers] = "Nya kunder",
            [KpiId.ActiveStores] = "Aktiva butiker",
            [KpiId.CartAbandonmentRate] = "Övergivna varukorgar",
        });

    private static readonly ReportLabels English = new(
        "Weekly report", "Monthly report", "Whole platform", "Store", "Country", "Period", "Generated", "KPI",
        "Last 7 days", "Previous 7 days", "Last 28 days", "Previous 28 days", "This month", "Previous month", "Change",
        "Daily trend", "By country (last 7 days)", "Top 5 traffic sources", "Top 5 countries", "Source", "No data",
        "Figures equal GET /api/kpi/query for the same scope and range (days in UTC).",
        new Dictionary<KpiId, string>
        {
            [KpiId.Gmv] = "GMV",
            [KpiId.Orders] = "Orders",
            [KpiId.Aov] = "Average order value",
            [KpiId.Revenue] = "Revenue",
            [KpiId.Commissions] = "Commissions",
            [KpiId.Visitors] = "Visitors",
            [KpiId.Sessions] = "Sessions",
            [KpiId.ConversionRate] = "Conversion rate",
            [KpiId.PaymentsSuccessRate] = "Payment success",
            [KpiId.Leads] = "Leads",
            [KpiId.NewCustomers] = "New customers",
            [KpiId.ActiveStores] = "Active stores",
            [KpiId.CartAbandonmentRate] = "Cart abandonment",
        });

    public static ReportLabels For(string locale) => locale switch
    {
        "sv-SE" => Swedish,
        "en" => English,
        _ => Spanish,
    };

    /// <summary>The KPI's name in this language (its id when not translated).</summary>
    public string Name(KpiId id) => Kpis.TryGetValue(id, out var name) ? name : KpiIds.Name(id);
}
