// Every label of the dashboards in the marketplace's languages: one table per language, keyed by
// the English text, with {name} placeholders. es-MX, es-CO and es-CL share the Spanish table (a
// locale may override a word); sv-SE has the Swedish one. A label missing from a table is recorded
// in window.atalayaUntranslated, so a test can walk every page and fail on English left behind.
// Brand and proper names (Atalaya, GMV, MRR, AOV, ROAS, store and product names) are not translated.
import { getLocale } from './format.js';

const es = {
  // Page frame and login
  'Skip to content': 'Saltar al contenido', 'Atalaya dashboards': 'Tableros de Atalaya', Language: 'Idioma', 'Log out': 'Cerrar sesión',
  'Log in': 'Iniciar sesión', Token: 'Token', 'Open dashboard': 'Abrir tablero', 'Loading…': 'Cargando…', 'Loading figures…': 'Cargando cifras…',
  'Paste a read token (admin, country operations lead or vendor). It is kept in this tab only.':
    'Pega un token de lectura (administración, líder de operaciones de país o vendedor). Solo se guarda en esta pestaña.',
  'This token is unknown or revoked.': 'Este token no existe o fue revocado.', 'This is a write key; use a read token.': 'Esta es una clave de escritura; usa un token de lectura.',
  'Could not log in: {message}': 'No se pudo iniciar sesión: {message}', 'Could not load: {message}': 'No se pudo cargar: {message}',
  'The token is no longer valid; log in again.': 'El token ya no es válido; inicia sesión de nuevo.',
  Admin: 'Administración', Analyst: 'Analista', 'Country operations lead': 'Líder de operaciones de país', Vendor: 'Vendedor',
  Live: 'En vivo', 'Polling every 10 s': 'Consultando cada 10 s', Stale: 'Sin actualizar', 'No update since {time}': 'Sin actualización desde {time}',
  // Filters
  Period: 'Periodo', Today: 'Hoy', '7 days': '7 días', '30 days': '30 días', '90 days': '90 días', 'Custom range': 'Rango personalizado',
  From: 'Desde', To: 'Hasta', Apply: 'Aplicar', 'Pick a start and an end on or after it.': 'Elige un inicio y un fin igual o posterior.',
  'Chart period': 'Periodo del gráfico', Automatic: 'Automático', Hourly: 'Por hora', Daily: 'Diario', Weekly: 'Semanal', Monthly: 'Mensual',
  'Time zone': 'Zona horaria', All: 'Todos', Filters: 'Filtros',
  Country: 'País', Hub: 'Hub', Zone: 'Zona', Source: 'Fuente', Platform: 'Plataforma', Category: 'Categoría', Store: 'Tienda',
  'Zone {n}': 'Zona {n}',
  // Views
  'Platform overview': 'Resumen de la plataforma', 'Country operations': 'Operaciones del país',
  'No store / not attributed': 'Sin tienda / no atribuido',
  'Events that name no store (sign-ups, app opens, leads, ad accounts): their hub, zone or category is unknown, so they are counted here.':
    'Eventos que no nombran tienda (registros, aperturas de la app, leads, cuentas de anuncios): su hub, zona o categoría no se conoce, así que se cuentan aquí.',
  // Cards
  'no data in this range': 'sin datos en este rango', 'no previous figure': 'sin cifra anterior', 'vs previous period': 'vs. periodo anterior',
  'Today: {value}': 'Hoy: {value}', 'today vs yesterday until {time}': 'hoy vs. ayer hasta las {time}',
  'vs 7-day average until {time}': 'vs. promedio de 7 días hasta las {time}',
  'Today until {time} against the same hours of earlier days.': 'Hoy hasta las {time} frente a las mismas horas de días anteriores.',
  // Panels
  'No data for these filters.': 'No hay datos para estos filtros.', 'Not available on this hub.': 'No disponible en este hub.',
  'Could not load this: {message}': 'No se pudo cargar: {message}', Retry: 'Reintentar', 'unknown error': 'error desconocido',
  'This link has a filter the hub does not accept: {message}': 'Este enlace tiene un filtro que el hub no acepta: {message}',
  'Reset the filters': 'Restablecer los filtros',
  'GMV and orders': 'GMV y pedidos', 'New stores and users': 'Nuevas tiendas y usuarios', 'New and returning customers': 'Clientes nuevos y recurrentes',
  'Traffic: store visits, visitors and pageviews': 'Tráfico: visitas a tiendas, visitantes y páginas vistas',
  'By {dimension}': 'Por {dimension}', '{metric} by {dimension}': '{metric} por {dimension}', '{dimension} breakdown': 'Desglose por {dimension}',
  'What the figures mean:': 'Qué significan las cifras:',
  'Marketing by source': 'Marketing por fuente', 'Ad spend': 'Inversión publicitaria', Installs: 'Instalaciones', 'Cost per install': 'Costo por instalación',
  'Ad spend by source': 'Inversión publicitaria por fuente',
  'Top products by revenue': 'Productos con más ingresos', 'Most viewed products': 'Productos más vistos', 'Views per product': 'Vistas por producto',
  Product: 'Producto', 'Item revenue': 'Ingresos por artículos', Units: 'Unidades', Orders: 'Pedidos', Views: 'Vistas', Conversion: 'Conversión', 'Top products': 'Productos principales',
  'Item revenue: the price × quantity of the product in the orders, before delivery fees and discounts (not the Payments collected card, which is money collected by payments).':
    'Ingresos por artículos: precio × cantidad del producto en los pedidos, antes de envío y descuentos (no la tarjeta Pagos cobrados, que es el dinero cobrado en pagos).',
  'Shoppers through the steps (within an hour)': 'Compradores por los pasos (en una hora)', 'Conversion funnel': 'Embudo de conversión',
  'Store visit': 'Visita a la tienda', 'Product view': 'Vista de producto', 'Add to cart': 'Agregar al carrito', Checkout: 'Pago', Purchase: 'Compra',
  Step: 'Paso', Shoppers: 'Compradores', 'From previous': 'Desde el anterior', 'From first': 'Desde el primero', 'Funnel steps': 'Pasos del embudo',
  'Counts shoppers who did the steps in order within an hour. The cart-abandonment and checkout-completion cards count sessions instead: {abandonment} and {completion} in this range.':
    'Cuenta compradores que hicieron los pasos en orden en una hora. Las tarjetas de abandono de carrito y de pagos completados cuentan sesiones: {abandonment} y {completion} en este rango.',
  'Weekly retention cohorts (first order week)': 'Cohortes de retención semanales (semana del primer pedido)',
  'Retention heat map: share of each cohort ordering again N weeks later': 'Mapa de calor de retención: parte de cada cohorte que vuelve a pedir N semanas después',
  "Rows: the week of a customer's first order, with the cohort's size; columns: weeks after it; cells: % of the cohort ordering that week. Weeks still to come are blank.":
    'Filas: la semana del primer pedido, con el tamaño de la cohorte; columnas: semanas después; celdas: % de la cohorte que pidió esa semana. Las semanas por venir quedan en blanco.',
  'Week of {date} · {n} customers': 'Semana del {date} · {n} clientes', 'Share of the cohort': 'Parte de la cohorte',
  'Peer benchmark (same category and country)': 'Comparación con pares (misma categoría y país)',
  'The peer benchmark is not available for this token.': 'La comparación con pares no está disponible para este token.',
  'Not available: too few comparable stores have data in this range.': 'No disponible: muy pocas tiendas comparables tienen datos en este rango.',
  '{store} · {category} · {country} · {n} comparable stores': '{store} · {category} · {country} · {n} tiendas comparables',
  KPI: 'KPI', Yours: 'Tuyo', 'Peers p25': 'Pares p25', Median: 'Mediana', p75: 'p75', 'Where you stand': 'Dónde estás', 'Peer benchmark': 'Comparación con pares',
  'in the top quarter of {n} stores': 'en el cuarto superior de {n} tiendas', 'above the median of {n} stores': 'sobre la mediana de {n} tiendas',
  'below the median of {n} stores': 'bajo la mediana de {n} tiendas', 'in the bottom quarter of {n} stores': 'en el cuarto inferior de {n} tiendas',
  'at the median of {n} stores': 'en la mediana de {n} tiendas', 'Your {metric} is {where} in your category.': 'Tu {metric} está {where} de tu categoría.',
  'Bought together': 'Comprados juntos', 'Bought-together pairs are not available on this hub yet.': 'Los pares comprados juntos aún no están disponibles en este hub.',
  'No two products of the store were delivered together in two orders yet.': 'Aún no se entregaron dos productos de la tienda juntos en dos pedidos.',
  'Lift: how many times more often the two are bought together than if shoppers chose them independently.':
    'Lift: cuántas veces más se compran juntos que si se eligieran de forma independiente.',
  'Bought with': 'Comprado con', 'Orders together': 'Pedidos juntos', Lift: 'Lift',
  'Pipeline runs': 'Ejecuciones del pipeline', 'Pipeline runs are not available on this hub yet.': 'Las ejecuciones del pipeline aún no están disponibles en este hub.',
  'No pipeline runs recorded yet.': 'Aún no hay ejecuciones registradas.', Job: 'Tarea', Status: 'Estado', Started: 'Inicio', Ended: 'Fin', Records: 'Registros', Error: 'Error',
  'Data quality': 'Calidad de datos', 'Data-quality results are not available on this hub yet.': 'Los resultados de calidad de datos aún no están disponibles en este hub.',
  'No data-quality checks recorded yet (they run every few hours, or now with `atalaya quality run`).':
    'Aún no hay controles de calidad (se ejecutan cada pocas horas, o ahora con `atalaya quality run`).',
  '{fail} fail · {warn} warn · {ok} ok · {skipped} skipped — checked {time}': '{fail} fallan · {warn} avisos · {ok} bien · {skipped} omitidos — revisado {time}',
  Check: 'Control', Subject: 'Objeto', Value: 'Valor', 'Warn / fail at': 'Aviso / falla en', Finding: 'Hallazgo',
  fail: 'falla', warn: 'aviso', ok: 'bien', skipped: 'omitido', success: 'éxito', failed: 'fallido', partial: 'parcial', running: 'en curso',
  Alerts: 'Alertas', 'Alerts are not available on this hub yet.': 'Las alertas aún no están disponibles en este hub.',
  'No alerts: every rule of this environment is quiet.': 'Sin alertas: todas las reglas de este entorno están tranquilas.',
  '{firing} firing · {acked} acknowledged · {resolved} resolved (latest 50)': '{firing} activas · {acked} reconocidas · {resolved} resueltas (últimas 50)',
  State: 'Estado', Severity: 'Severidad', Rule: 'Regla', 'Value / limit': 'Valor / límite', Since: 'Desde', Resolved: 'Resuelta', What: 'Qué',
  firing: 'activa', acknowledged: 'reconocida', resolved: 'resuelta', critical: 'crítica', warning: 'aviso', info: 'info',
  'scroll →': 'desplaza →', table: 'tabla',
  // KPI names (the dictionary's names are English); GMV and MRR are read as they are.
  GMV: 'GMV', MRR: 'MRR', 'Net GMV': 'GMV neto', 'Average order value': 'Valor medio del pedido', 'Delivered GMV': 'GMV entregado', 'Delivered orders': 'Pedidos entregados',
  Commissions: 'Comisiones', Refunds: 'Reembolsos', 'Cancelled orders': 'Pedidos cancelados', 'Cancelled GMV': 'GMV cancelado', 'Units sold': 'Unidades vendidas',
  Revenue: 'Ingresos', 'Payments collected': 'Pagos cobrados', 'Payment success rate': 'Tasa de pagos exitosos', Leads: 'Leads', 'Lead conversion': 'Conversión de leads',
  Visitors: 'Visitantes', 'Active users': 'Usuarios activos', Sessions: 'Sesiones', Pageviews: 'Páginas vistas', 'Store visits': 'Visitas a tiendas',
  'Bounce rate': 'Tasa de rebote', 'Average session duration': 'Duración media de la sesión', 'Session conversion rate': 'Conversión de sesiones',
  'Add-to-cart rate': 'Tasa de agregar al carrito', 'Cart abandonment rate': 'Abandono de carrito', 'Checkout completion rate': 'Pagos completados',
  'New customers': 'Clientes nuevos', 'Returning customers': 'Clientes recurrentes', 'Lifetime value': 'Valor de vida', Customers: 'Clientes',
  'Repeat customer rate': 'Tasa de clientes recurrentes', 'Customer churn rate': 'Abandono de clientes', 'Active stores': 'Tiendas activas',
  'New stores': 'Tiendas nuevas', 'New users': 'Usuarios nuevos', 'Store churn rate': 'Abandono de tiendas', 'Stock available': 'Stock disponible',
  'Sell-through rate': 'Tasa de venta',
  // Data-quality badges (health.js)
  fresh: 'al día', stale: 'desactualizado', 'stale since {time} UTC': 'desactualizado desde las {time} UTC',
  'check failing: {check}': 'control fallido: {check}', 'quality not checked yet': 'calidad aún no revisada',
  'Data quality checked {time}.': 'Calidad de datos revisada {time}.', 'The data-quality job has not run yet.': 'El control de calidad de datos aún no se ha ejecutado.',
  'No check that concerns these figures is failing or late.': 'Ningún control que afecte a estas cifras falla ni está atrasado.',
};

const sv = {
  'Skip to content': 'Hoppa till innehållet', 'Atalaya dashboards': 'Atalayas instrumentpaneler', Language: 'Språk', 'Log out': 'Logga ut',
  'Log in': 'Logga in', Token: 'Token', 'Open dashboard': 'Öppna panelen', 'Loading…': 'Laddar…', 'Loading figures…': 'Laddar siffror…',
  'Paste a read token (admin, country operations lead or vendor). It is kept in this tab only.':
    'Klistra in en lästoken (admin, landsansvarig eller säljare). Den sparas bara i den här fliken.',
  'This token is unknown or revoked.': 'Denna token är okänd eller återkallad.', 'This is a write key; use a read token.': 'Detta är en skrivnyckel; använd en lästoken.',
  'Could not log in: {message}': 'Kunde inte logga in: {message}', 'Could not load: {message}': 'Kunde inte ladda: {message}',
  'The token is no longer valid; log in again.': 'Denna token gäller inte längre; logga in igen.',
  Admin: 'Admin', Analyst: 'Analytiker', 'Country operations lead': 'Landsansvarig för drift', Vendor: 'Säljare',
  Live: 'Live', 'Polling every 10 s': 'Hämtar var 10:e s', Stale: 'Inaktuell', 'No update since {time}': 'Ingen uppdatering sedan {time}',
  Period: 'Period', Today: 'I dag', '7 days': '7 dagar', '30 days': '30 dagar', '90 days': '90 dagar', 'Custom range': 'Eget intervall',
  From: 'Från', To: 'Till', Apply: 'Använd', 'Pick a start and an end on or after it.': 'Välj en start och ett slut samma dag eller senare.',
  'Chart period': 'Diagramperiod', Automatic: 'Automatisk', Hourly: 'Per timme', Daily: 'Per dag', Weekly: 'Per vecka', Monthly: 'Per månad',
  'Time zone': 'Tidszon', All: 'Alla', Filters: 'Filter',
  Country: 'Land', Hub: 'Hubb', Zone: 'Zon', Source: 'Källa', Platform: 'Plattform', Category: 'Kategori', Store: 'Butik',
  'Zone {n}': 'Zon {n}',
  'Platform overview': 'Plattformsöversikt', 'Country operations': 'Landsdrift',
  'No store / not attributed': 'Ingen butik / ej tillskrivet',
  'Events that name no store (sign-ups, app opens, leads, ad accounts): their hub, zone or category is unknown, so they are counted here.':
    'Händelser utan butik (registreringar, appöppningar, leads, annonskonton): deras hubb, zon eller kategori är okänd, så de räknas här.',
  'no data in this range': 'inga data i intervallet', 'no previous figure': 'ingen tidigare siffra', 'vs previous period': 'mot föregående period',
  'Today: {value}': 'I dag: {value}', 'today vs yesterday until {time}': 'i dag mot i går till {time}',
  'vs 7-day average until {time}': 'mot 7-dagarssnittet till {time}',
  'Today until {time} against the same hours of earlier days.': 'I dag till {time} mot samma timmar tidigare dagar.',
  'No data for these filters.': 'Inga data för dessa filter.', 'Not available on this hub.': 'Inte tillgängligt på den här hubben.',
  'Could not load this: {message}': 'Kunde inte ladda detta: {message}', Retry: 'Försök igen', 'unknown error': 'okänt fel',
  'This link has a filter the hub does not accept: {message}': 'Länken har ett filter som hubben inte accepterar: {message}',
  'Reset the filters': 'Återställ filtren',
  'GMV and orders': 'GMV och ordrar', 'New stores and users': 'Nya butiker och användare', 'New and returning customers': 'Nya och återkommande kunder',
  'Traffic: store visits, visitors and pageviews': 'Trafik: butiksbesök, besökare och sidvisningar',
  'By {dimension}': 'Per {dimension}', '{metric} by {dimension}': '{metric} per {dimension}', '{dimension} breakdown': 'Fördelning per {dimension}',
  'What the figures mean:': 'Vad siffrorna betyder:',
  'Marketing by source': 'Marknadsföring per källa', 'Ad spend': 'Annonskostnad', Installs: 'Installationer', 'Cost per install': 'Kostnad per installation',
  'Ad spend by source': 'Annonskostnad per källa',
  'Top products by revenue': 'Toppprodukter efter intäkt', 'Most viewed products': 'Mest visade produkter', 'Views per product': 'Visningar per produkt',
  Product: 'Produkt', 'Item revenue': 'Artikelintäkt', Units: 'Enheter', Orders: 'Ordrar', Views: 'Visningar', Conversion: 'Konvertering', 'Top products': 'Toppprodukter',
  'Item revenue: the price × quantity of the product in the orders, before delivery fees and discounts (not the Payments collected card, which is money collected by payments).':
    'Artikelintäkt: pris × antal av produkten i ordrarna, före frakt och rabatter (inte kortet Inbetalningar, som är pengar inbetalda via betalningar).',
  'Shoppers through the steps (within an hour)': 'Kunder genom stegen (inom en timme)', 'Conversion funnel': 'Konverteringstratt',
  'Store visit': 'Butiksbesök', 'Product view': 'Produktvisning', 'Add to cart': 'Lägg i varukorg', Checkout: 'Kassa', Purchase: 'Köp',
  Step: 'Steg', Shoppers: 'Kunder', 'From previous': 'Från föregående', 'From first': 'Från första', 'Funnel steps': 'Trattens steg',
  'Counts shoppers who did the steps in order within an hour. The cart-abandonment and checkout-completion cards count sessions instead: {abandonment} and {completion} in this range.':
    'Räknar kunder som tog stegen i ordning inom en timme. Korten för övergivna varukorgar och slutförda köp räknar sessioner: {abandonment} och {completion} i intervallet.',
  'Weekly retention cohorts (first order week)': 'Veckovisa kohorter (veckan för första ordern)',
  'Retention heat map: share of each cohort ordering again N weeks later': 'Värmekarta: andel av varje kohort som beställer igen N veckor senare',
  "Rows: the week of a customer's first order, with the cohort's size; columns: weeks after it; cells: % of the cohort ordering that week. Weeks still to come are blank.":
    'Rader: veckan för kundens första order, med kohortens storlek; kolumner: veckor efter; celler: % av kohorten som beställde den veckan. Kommande veckor är tomma.',
  'Week of {date} · {n} customers': 'Veckan {date} · {n} kunder', 'Share of the cohort': 'Andel av kohorten',
  'Peer benchmark (same category and country)': 'Jämförelse med liknande butiker (samma kategori och land)',
  'The peer benchmark is not available for this token.': 'Jämförelsen är inte tillgänglig för denna token.',
  'Not available: too few comparable stores have data in this range.': 'Inte tillgänglig: för få jämförbara butiker har data i intervallet.',
  '{store} · {category} · {country} · {n} comparable stores': '{store} · {category} · {country} · {n} jämförbara butiker',
  KPI: 'KPI', Yours: 'Din', 'Peers p25': 'Andra p25', Median: 'Median', p75: 'p75', 'Where you stand': 'Var du står', 'Peer benchmark': 'Jämförelse',
  'in the top quarter of {n} stores': 'i översta fjärdedelen av {n} butiker', 'above the median of {n} stores': 'över medianen för {n} butiker',
  'below the median of {n} stores': 'under medianen för {n} butiker', 'in the bottom quarter of {n} stores': 'i nedersta fjärdedelen av {n} butiker',
  'at the median of {n} stores': 'vid medianen för {n} butiker', 'Your {metric} is {where} in your category.': 'Din {metric} ligger {where} i din kategori.',
  'Bought together': 'Köps tillsammans', 'Bought-together pairs are not available on this hub yet.': 'Par som köps tillsammans finns inte på den här hubben än.',
  'No two products of the store were delivered together in two orders yet.': 'Inga två produkter har levererats tillsammans i två ordrar än.',
  'Lift: how many times more often the two are bought together than if shoppers chose them independently.':
    'Lift: hur många gånger oftare de köps tillsammans än om kunderna valde dem oberoende.',
  'Bought with': 'Köpt med', 'Orders together': 'Ordrar tillsammans', Lift: 'Lift',
  'Pipeline runs': 'Pipelinekörningar', 'Pipeline runs are not available on this hub yet.': 'Pipelinekörningar finns inte på den här hubben än.',
  'No pipeline runs recorded yet.': 'Inga körningar registrerade än.', Job: 'Jobb', Status: 'Status', Started: 'Startad', Ended: 'Klar', Records: 'Poster', Error: 'Fel',
  'Data quality': 'Datakvalitet', 'Data-quality results are not available on this hub yet.': 'Datakvalitetsresultat finns inte på den här hubben än.',
  'No data-quality checks recorded yet (they run every few hours, or now with `atalaya quality run`).':
    'Inga kvalitetskontroller än (de körs med några timmars mellanrum, eller nu med `atalaya quality run`).',
  '{fail} fail · {warn} warn · {ok} ok · {skipped} skipped — checked {time}': '{fail} fel · {warn} varningar · {ok} ok · {skipped} överhoppade — kontrollerat {time}',
  Check: 'Kontroll', Subject: 'Objekt', Value: 'Värde', 'Warn / fail at': 'Varning / fel vid', Finding: 'Fynd',
  fail: 'fel', warn: 'varning', ok: 'ok', skipped: 'överhoppad', success: 'lyckad', failed: 'misslyckad', partial: 'delvis', running: 'pågår',
  Alerts: 'Larm', 'Alerts are not available on this hub yet.': 'Larm finns inte på den här hubben än.',
  'No alerts: every rule of this environment is quiet.': 'Inga larm: alla regler i miljön är tysta.',
  '{firing} firing · {acked} acknowledged · {resolved} resolved (latest 50)': '{firing} aktiva · {acked} kvitterade · {resolved} lösta (senaste 50)',
  State: 'Läge', Severity: 'Allvar', Rule: 'Regel', 'Value / limit': 'Värde / gräns', Since: 'Sedan', Resolved: 'Löst', What: 'Vad',
  firing: 'aktivt', acknowledged: 'kvitterat', resolved: 'löst', critical: 'kritiskt', warning: 'varning', info: 'info',
  'scroll →': 'rulla →', table: 'tabell',
  GMV: 'GMV', MRR: 'MRR', 'Net GMV': 'Netto-GMV', 'Average order value': 'Genomsnittligt ordervärde', 'Delivered GMV': 'Levererat GMV', 'Delivered orders': 'Levererade ordrar',
  Commissions: 'Provisioner', Refunds: 'Återbetalningar', 'Cancelled orders': 'Avbrutna ordrar', 'Cancelled GMV': 'Avbrutet GMV', 'Units sold': 'Sålda enheter',
  Revenue: 'Intäkter', 'Payments collected': 'Inbetalningar', 'Payment success rate': 'Andel lyckade betalningar', Leads: 'Leads', 'Lead conversion': 'Leadkonvertering',
  Visitors: 'Besökare', 'Active users': 'Aktiva användare', Sessions: 'Sessioner', Pageviews: 'Sidvisningar', 'Store visits': 'Butiksbesök',
  'Bounce rate': 'Avvisningsfrekvens', 'Average session duration': 'Genomsnittlig sessionslängd', 'Session conversion rate': 'Sessionskonvertering',
  'Add-to-cart rate': 'Andel lägg i varukorg', 'Cart abandonment rate': 'Övergivna varukorgar', 'Checkout completion rate': 'Slutförda köp',
  'New customers': 'Nya kunder', 'Returning customers': 'Återkommande kunder', 'Lifetime value': 'Livstidsvärde', Customers: 'Kunder',
  'Repeat customer rate': 'Andel återkommande kunder', 'Customer churn rate': 'Kundbortfall', 'Active stores': 'Aktiva butiker',
  'New stores': 'Nya butiker', 'New users': 'Nya användare', 'Store churn rate': 'Butiksbortfall', 'Stock available': 'Lager tillgängligt',
  'Sell-through rate': 'Försäljningsgrad',
  // Data-quality badges (health.js)
  fresh: 'aktuell', stale: 'inaktuell', 'stale since {time} UTC': 'inaktuell sedan {time} UTC',
  'check failing: {check}': 'kontroll fallerar: {check}', 'quality not checked yet': 'kvaliteten inte kontrollerad än',
  'Data quality checked {time}.': 'Datakvaliteten kontrollerad {time}.', 'The data-quality job has not run yet.': 'Datakvalitetsjobbet har inte körts än.',
  'No check that concerns these figures is failing or late.': 'Ingen kontroll som rör dessa siffror fallerar eller är sen.',
};

const TABLES = { en: null, 'es-MX': es, 'es-CO': es, 'es-CL': es, 'sv-SE': sv };

window.atalayaUntranslated ??= new Set();
/** The English labels that read differently in the current language: English text left on the page. */
window.atalayaEnglishLabels = () => {
  const table = TABLES[getLocale()];
  return table ? Object.keys(table).filter(k => table[k] !== k) : [];
};

/** The label in the reader's language, {placeholders} filled in; the English text when the table has no entry. */
export function t(text, vars) {
  const table = TABLES[getLocale()];
  let out = text;
  if (table) {
    if (Object.hasOwn(table, text)) out = table[text];
    else window.atalayaUntranslated.add(getLocale() + ': ' + text);
  }
  return vars ? out.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : out;
}

/** Translates the static page (elements with data-i18n, and data-i18n-title / -label attributes). */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  document.title = t('Atalaya dashboards');
}

// What each KPI means (the dictionary's one-sentence `description`), in the marketplace's languages.
// The exact formula (`definition`) stays as the dictionary writes it: it names fields and events.
const DESCRIPTIONS = {
  es: {
    gmv: 'Valor bruto de la mercancía de los pedidos hechos en el periodo.',
    orders: 'Pedidos hechos en el periodo.',
    aov: 'GMV por pedido.',
    delivered_gmv: 'Valor de los pedidos entregados en el periodo, según su registro final.',
    delivered_orders: 'Pedidos entregados en el periodo.',
    commissions: 'Comisiones de la plataforma por entregas, descontadas las revertidas por reembolsos.',
    refunds: 'Dinero reembolsado en el periodo, reembolso por reembolso.',
    cancelled_orders: 'Pedidos cancelados en el periodo antes de ser entregados.',
    cancelled_gmv: 'Valor de los pedidos cancelados en el periodo.',
    net_gmv: 'GMV entregado menos reembolsos, cada uno en el periodo de su propio evento.',
    units_sold: 'Artículos vendidos en los pedidos del periodo.',
    revenue: 'Dinero cobrado con pagos exitosos.',
    payments_success_rate: 'Proporción de intentos de pago que tuvieron éxito.',
    leads: 'Leads creados en el periodo.',
    conversion_pct: 'Proporción de los leads del periodo cuyo usuario pagó en 7 días.',
    visitors: 'Usuarios distintos con algún evento en el periodo.',
    active_users: 'Lo mismo que visitantes (el nombre de la vista de administración).',
    sessions: 'Sesiones que empezaron en el periodo.',
    pageviews: 'Páginas y pantallas mostradas.',
    store_visits: 'Veces que se abrió una tienda.',
    bounce_rate: 'Proporción de sesiones con un solo evento.',
    avg_session_duration_s: 'Tiempo medio entre el primer y el último evento de una sesión.',
    conversion_rate: 'Proporción de sesiones con una compra.',
    add_to_cart_rate: 'Proporción de sesiones que vieron un producto y además agregaron uno al carrito.',
    cart_abandonment_rate: 'Proporción de sesiones con carrito que no compraron.',
    checkout_completion_rate: 'Proporción de sesiones que iniciaron el pago y luego compraron.',
    new_customers: 'Usuarios cuyo primer pedido está en el periodo.',
    returning_customers: 'Usuarios que pidieron en el periodo y ya habían pedido antes.',
    ltv: 'GMV por cliente, todo el historial hasta el fin del periodo.',
    customers: 'Usuarios que hicieron pedidos en el periodo.',
    repeat_customer_rate: 'Proporción de los clientes del periodo que ya habían pedido antes.',
    customer_churn_rate: 'Proporción de los clientes del periodo anterior sin pedidos en este.',
    active_stores: 'Tiendas con al menos un pedido en el periodo.',
    new_stores: 'Tiendas creadas en el periodo.',
    new_users: 'Usuarios que se registraron en el periodo.',
    store_churn_rate: 'Proporción de las tiendas activas del periodo anterior sin pedidos en este.',
    mrr: 'Ingresos por suscripciones del mes calendario, hasta la fecha.',
    stock_available: 'Unidades en existencia al final del periodo.',
    sell_through_rate: 'Proporción de las unidades en oferta que se vendieron en el periodo.',
    ad_spend: 'Dinero gastado en anuncios, convertido a la moneda de reporte.',
    impressions: 'Veces que se mostraron los anuncios.',
    clicks: 'Clics en los anuncios.',
    installs: 'Instalaciones de la app que informa cada fuente (App Store sus descargas, Meta las que atribuye a sus anuncios); agrupa por fuente para verlas por separado.',
    cpi: 'Gasto en anuncios por instalación atribuida a los anuncios.',
    roas: 'GMV de los pedidos cuya sesión vino de un canal de anuncios por unidad de su gasto.',
  },
  sv: {
    gmv: 'Bruttovärdet av de beställningar som lagts under perioden.',
    orders: 'Beställningar lagda under perioden.',
    aov: 'GMV per beställning.',
    delivered_gmv: 'Värdet av de beställningar som levererats under perioden, enligt deras slutliga ögonblicksbild.',
    delivered_orders: 'Beställningar levererade under perioden.',
    commissions: 'Plattformens provisioner på leveranser, minus de som återförts vid återbetalningar.',
    refunds: 'Pengar som återbetalats under perioden, återbetalning för återbetalning.',
    cancelled_orders: 'Beställningar som avbröts under perioden innan de levererades.',
    cancelled_gmv: 'Värdet av de beställningar som avbröts under perioden.',
    net_gmv: 'Levererat GMV minus återbetalningar, var och en i perioden för sin egen händelse.',
    units_sold: 'Artiklar sålda i periodens beställningar.',
    revenue: 'Pengar inkasserade genom lyckade betalningar.',
    payments_success_rate: 'Andel betalningsförsök som lyckades.',
    leads: 'Leads skapade under perioden.',
    conversion_pct: 'Andel av periodens leads vars användare betalade inom 7 dagar.',
    visitors: 'Unika användare med någon händelse under perioden.',
    active_users: 'Samma som besökare (administratörsvyns namn).',
    sessions: 'Sessioner som började under perioden.',
    pageviews: 'Visade sidor och skärmar.',
    store_visits: 'Gånger en butik öppnades.',
    bounce_rate: 'Andel sessioner med en enda händelse.',
    avg_session_duration_s: 'Genomsnittlig tid mellan en sessions första och sista händelse.',
    conversion_rate: 'Andel sessioner med ett köp.',
    add_to_cart_rate: 'Andel sessioner som visade en produkt och också lade en i varukorgen.',
    cart_abandonment_rate: 'Andel sessioner med varukorg som inte köpte.',
    checkout_completion_rate: 'Andel sessioner som påbörjade kassan och sedan köpte.',
    new_customers: 'Användare vars allra första beställning ligger i perioden.',
    returning_customers: 'Användare som beställde under perioden och hade beställt tidigare.',
    ltv: 'GMV per kund, hela historiken fram till periodens slut.',
    customers: 'Användare som beställde under perioden.',
    repeat_customer_rate: 'Andel av periodens kunder som hade beställt tidigare.',
    customer_churn_rate: 'Andel av föregående periods kunder utan beställning i denna period.',
    active_stores: 'Butiker med minst en beställning under perioden.',
    new_stores: 'Butiker skapade under perioden.',
    new_users: 'Användare som registrerade sig under perioden.',
    store_churn_rate: 'Andel av föregående periods aktiva butiker utan beställning i denna period.',
    mrr: 'Prenumerationsintäkter för kalendermånaden hittills.',
    stock_available: 'Enheter i lager vid periodens slut.',
    sell_through_rate: 'Andel av de utbjudna enheterna som såldes under perioden.',
    ad_spend: 'Pengar spenderade på annonser, omräknade till rapportvalutan.',
    impressions: 'Gånger annonserna visades.',
    clicks: 'Klick på annonserna.',
    installs: 'Appinstallationer som varje källa rapporterar (App Store sina nedladdningar, Meta de som den tillskriver sina annonser); gruppera efter källa för att läsa dem var för sig.',
    cpi: 'Annonskostnad per installation som tillskrivs annonserna.',
    roas: 'GMV för beställningar vars session kom från en annonskanal per enhet av dess kostnad.',
  },
};
const DESCRIPTION_TABLES = { en: null, 'es-MX': DESCRIPTIONS.es, 'es-CO': DESCRIPTIONS.es, 'es-CL': DESCRIPTIONS.es, 'sv-SE': DESCRIPTIONS.sv };

/**
 * What KPI `def` means, in the reader's language, and the language it is in: the dictionary's
 * English sentence when no translation exists (a KPI added since), marked so for screen readers.
 */
export function kpiDescription(def) {
  const locale = getLocale();
  const translated = DESCRIPTION_TABLES[locale]?.[def.id];
  return translated ? { text: translated, lang: locale } : { text: def.description ?? '', lang: 'en' };
}
