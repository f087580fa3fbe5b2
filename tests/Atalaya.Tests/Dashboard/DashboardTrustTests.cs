using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Playwright;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// What makes a new user trust the dashboards (issue 18), in real Chromium at a laptop's 1366 px
/// and a phone's 390 px: one figure per name with its definition, charts that follow live events,
/// tables that scroll inside their panel with a cue, one money format per column, names instead of
/// slugs, a readable retention map, a "where you stand" cue, every label in the reader's language,
/// and a bad shared link that says what is wrong.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardTrustTests(DashboardFixture fixture)
{
    public static readonly TheoryData<string, int> LocalesAndWidths = new()
    {
        { "en", 1366 }, { "en", 390 }, { "es-MX", 1366 }, { "es-MX", 390 }, { "es-CO", 1366 }, { "es-CO", 390 },
        { "es-CL", 1366 }, { "es-CL", 390 }, { "sv-SE", 1366 }, { "sv-SE", 390 },
    };

    private Task<DashboardPage> OpenAsync(string locale, int width) => DashboardPage.OpenAsync(fixture, new BrowserNewContextOptions
    {
        Locale = locale,
        ViewportSize = new ViewportSize { Width = width, Height = 900 },
    });

    [Theory]
    [MemberData(nameof(LocalesAndWidths))]
    public async Task On_the_vendor_page_figures_with_the_same_name_are_one_figure_and_each_carries_its_definition(string locale, int width)
    {
        await using var page = await OpenAsync(locale, width);
        await page.LogInAsync(fixture.VendorToken);
        using var dictionary = await GetAsync(fixture.VendorToken, "/api/kpi/definitions");
        var descriptions = dictionary.RootElement.GetProperty("kpis").EnumerateArray()
            .ToDictionary(k => k.GetProperty("id").GetString()!, k => k.GetProperty("description").GetString()!);

        // The funnel's cart-abandonment and checkout-completion figures are the cards' own.
        foreach (var metric in new[] { "cart_abandonment_rate", "checkout_completion_rate" })
        {
            var card = await page.Page.GetAttributeAsync($"#cards [data-metric={metric}]", "data-value");
            var funnel = await page.Page.GetAttributeAsync($"#panel-funnel .funnel-note [data-metric={metric}]", "data-value");
            Assert.False(string.IsNullOrEmpty(card));
            Assert.Equal(card, funnel);
        }
        // Visitors, store visits and pageviews each say what they count under the traffic chart: the
        // dictionary's sentence in English, its translation (marked with the page's language) otherwise.
        var meanings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var metric in new[] { "visitors", "store_visits", "pageviews" })
        {
            var line = $"#panel-traffic .footnote [data-metric={metric}] dd";
            var text = await page.Page.InnerTextAsync(line);
            if (locale == "en")
            {
                Assert.Equal(descriptions[metric], text);
            }
            else
            {
                Assert.Equal(locale, await page.Page.GetAttributeAsync(line, "lang"));
                Assert.NotEqual(descriptions[metric], text);
                Assert.False(string.IsNullOrWhiteSpace(text));
            }
            meanings[metric] = text;
        }
        // Every card names its definition on hover (the same sentence, then the dictionary's formula).
        var titles = await page.Page.EvalOnSelectorAllAsync<Dictionary<string, string>>("#cards [data-metric]",
            "cards => Object.fromEntries(cards.map(c => [c.dataset.metric, c.querySelector('h3').title]))");
        Assert.All(titles, t => Assert.False(string.IsNullOrWhiteSpace(t.Value), t.Key));
        Assert.All(titles.Where(t => locale == "en" || meanings.ContainsKey(t.Key)),
            t => Assert.StartsWith(locale == "en" ? descriptions[t.Key] : meanings[t.Key], t.Value, StringComparison.Ordinal));
        await AssertFitsAsync(page, width);
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task Charts_follow_posted_events_live_not_only_the_cards()
    {
        await using var page = await DashboardPage.OpenAsync(fixture);
        await page.LogInAsync(fixture.AdminToken);
        await page.Page.WaitForFunctionAsync("() => document.querySelector('#live').dataset.state === 'live'");
        const string ordersInChart = "JSON.parse(document.querySelector('#panel-trend .chart').dataset.series).find(s => s.id === 'orders').data.reduce((a, b) => a + b, 0)";
        var before = await page.Page.EvaluateAsync<double>("() => " + ordersInChart);

        await DashboardTests.PostOrderAsync(fixture);
        await page.Page.WaitForFunctionAsync($"() => {ordersInChart} === {(before + 1).ToString(CultureInfo.InvariantCulture)}",
            null, new PageWaitForFunctionOptions { Timeout = DashboardPage.FigureWaitMs, PollingInterval = 100 });
        // The breakdown by country follows too: its orders column adds up to the chart's.
        await page.Page.WaitForFunctionAsync($"() => [...document.querySelectorAll('#panel-by-country td[data-col=orders]')].reduce((a, c) => a + Number(c.dataset.value), 0) === {(before + 1).ToString(CultureInfo.InvariantCulture)}",
            null, new PageWaitForFunctionOptions { Timeout = DashboardPage.FigureWaitMs, PollingInterval = 100 });
        Assert.Equal("live", await page.LiveStateAsync());
        Assert.Empty(page.ConsoleErrors);
    }

    [Theory]
    [InlineData("admin", 1366)]
    [InlineData("admin", 390)]
    [InlineData("lead", 390)]
    [InlineData("vendor", 390)]
    [InlineData("vendor", 1366)]
    public async Task Tables_scroll_inside_their_panel_with_a_visible_cue_and_the_page_never_overflows(string role, int width)
    {
        await using var page = await OpenAsync("en", width);
        await page.LogInAsync(Token(role));
        await AssertFitsAsync(page, width);
        using var answer = JsonDocument.Parse(await page.Page.EvalOnSelectorAllAsync<string>(".table-box", """
            boxes => JSON.stringify(boxes.map(b => {
              const wrap = b.querySelector('.table-wrap');
              const cue = b.querySelector('.scroll-cue');
              return { panel: b.closest('.panel').dataset.panel, wider: wrap.scrollWidth > wrap.clientWidth + 1,
                       overflow: b.dataset.overflow, cue: getComputedStyle(cue).display !== 'none' && cue.offsetHeight > 0,
                       fits: b.getBoundingClientRect().right <= window.innerWidth + 0.5 };
            }))
            """));
        var tables = answer.RootElement.EnumerateArray().Select(t => t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value)).ToList();
        Assert.NotEmpty(tables);
        foreach (var t in tables)
        {
            var panel = t["panel"].GetString();
            Assert.True(t["fits"].GetBoolean(), $"the {panel} table sticks out of the screen");
            // A table wider than its panel says so; one that fits shows no cue.
            Assert.Equal(t["wider"].GetBoolean(), t["cue"].GetBoolean());
            Assert.Equal(t["wider"].GetBoolean() ? "true" : "false", t["overflow"].GetString());
        }
        if (width == 390)
        {
            Assert.Contains(tables, t => t["wider"].GetBoolean());
        }
        // Scrolled to its end, a table's cue goes away.
        var scrolled = await page.Page.EvaluateAsync<bool>("""
            async () => {
              const box = [...document.querySelectorAll('.table-box')].find(b => b.dataset.overflow === 'true');
              if (!box) return true;
              const wrap = box.querySelector('.table-wrap');
              wrap.scrollLeft = wrap.scrollWidth;
              // The cue follows the scroll event; on a busy machine that can take longer than a frame.
              for (let i = 0; i < 100 && box.dataset.overflow !== 'false'; i++) await new Promise(r => setTimeout(r, 50));
              return box.dataset.overflow === 'false';
            }
            """);
        Assert.True(scrolled, "the scroll cue stays after scrolling to the end");
        Assert.Empty(page.ConsoleErrors);
    }

    [Theory]
    [MemberData(nameof(LocalesAndWidths))]
    public async Task Money_columns_use_one_format_and_places_and_stores_read_as_names(string locale, int width)
    {
        await using var lead = await OpenAsync(locale, width);
        await lead.LogInAsync(fixture.LeadToken);
        await AssertOneMoneyFormatPerColumnAsync(lead, locale);
        // Hubs by name, never the slug; the row of events without a store is labelled and explained.
        var hubs = await lead.Page.EvalOnSelectorAllAsync<string[][]>("#panel-by-hub tbody tr", "rows => rows.map(r => [r.dataset.key, r.querySelector('td').innerText])");
        Assert.NotEmpty(hubs);
        foreach (var hub in hubs)
        {
            Assert.NotEqual(hub[0], hub[1]);
            if (hub[0] == "(none)")
            {
                Assert.DoesNotContain("(none)", hub[1], StringComparison.Ordinal);
                Assert.NotNull(await lead.Page.GetAttributeAsync("#panel-by-hub tr[data-key='(none)'] td .none", "title"));
                Assert.True(await lead.Page.IsVisibleAsync("#panel-by-hub .none-note"));
            }
            else
            {
                Assert.Equal(string.Join(' ', hub[0].Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..])), hub[1]);
            }
        }
        await AssertFitsAsync(lead, width);

        await using var vendor = await OpenAsync(locale, width);
        await vendor.LogInAsync(fixture.VendorToken);
        await AssertOneMoneyFormatPerColumnAsync(vendor, locale);
        // The store by its name from the store table, not "Store · mx-003".
        Assert.Equal(StoreName(DashboardFixture.VendorStore), await vendor.Page.InnerTextAsync(".view-title"));
        // "Revenue" beside GMV is named for what it is, and the product table's revenue is explained.
        Assert.NotEqual("Revenue", (await vendor.Page.InnerTextAsync("#panel-top-products th button[data-sort=revenue]")).Trim());
        Assert.True(await vendor.Page.IsVisibleAsync("#panel-top-products .footnote"));
        await AssertFitsAsync(vendor, width);

        await using var admin = await OpenAsync(locale, width);
        await admin.LogInAsync(fixture.AdminToken);
        Assert.DoesNotContain("REVENUE", (await admin.Page.InnerTextAsync("[data-metric=revenue] h3")).ToUpperInvariant(), StringComparison.Ordinal);
        Assert.Contains("payment", (await admin.Page.GetAttributeAsync("[data-metric=revenue] h3", "title"))!, StringComparison.OrdinalIgnoreCase);
        await AssertOneMoneyFormatPerColumnAsync(admin, locale);
        Assert.Empty(lead.ConsoleErrors);
        Assert.Empty(vendor.ConsoleErrors);
        Assert.Empty(admin.ConsoleErrors);
    }

    [Theory]
    [InlineData("en", 1366)]
    [InlineData("es-CL", 390)]
    [InlineData("sv-SE", 1366)]
    public async Task The_retention_map_shows_cohort_sizes_a_numbered_legend_and_leaves_future_weeks_blank(string locale, int width)
    {
        await using var page = await OpenAsync(locale, width);
        await page.LogInAsync(fixture.VendorToken);
        using var retention = await GetAsync(fixture.VendorToken, "/api/analysis/retention?period=week&start_date=90d");
        var cells = retention.RootElement.GetProperty("data").EnumerateArray()
            .Select(c => (Cohort: c.GetProperty("cohort").GetString()!, Since: c.GetProperty("periods_since_first").GetInt32(), Users: c.GetProperty("users").GetInt64())).ToList();
        var end = DateOnly.Parse(retention.RootElement.GetProperty("params").GetProperty("end_date").GetString()!, CultureInfo.InvariantCulture);
        var lastMonday = end.AddDays(-(((int)end.DayOfWeek + 6) % 7));
        var cohorts = cells.Select(c => c.Cohort).Distinct().Order(StringComparer.Ordinal).ToList();

        var option = await page.Page.EvaluateAsync<JsonElement>("""
            () => { const o = echarts.getInstanceByDom(document.querySelector('#panel-retention .chart')).getOption();
                    return { rows: o.yAxis[0].data, cells: o.series[0].data, legend: o.visualMap[0].text }; }
            """);
        // Each row says how many customers the cohort has.
        var rows = option.GetProperty("rows").EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.Equal(cohorts.Count, rows.Count);
        var integer = await page.Page.EvaluateAsync<string[]>($"() => {JsonSerializer.Serialize(cohorts.Select(c => cells.Single(x => x.Cohort == c && x.Since == 0).Users))}.map(n => new Intl.NumberFormat('{locale}').format(n))");
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.EndsWith($"({integer[i]})", rows[i], StringComparison.Ordinal);
        }
        // The legend carries numbers.
        Assert.All(option.GetProperty("legend").EnumerateArray(), t => Assert.Matches(@"\d", t.GetString()!));
        // Painted cells: every week up to the last one, 0 % where nobody came back; none after it.
        var painted = option.GetProperty("cells").EnumerateArray().Select(c => (X: c[0].GetInt32(), Y: c[1].GetInt32(), Pct: c[2].GetDouble())).ToList();
        var maxX = painted.Max(c => c.X);
        for (var y = 0; y < cohorts.Count; y++)
        {
            var cohort = DateOnly.Parse(cohorts[y], CultureInfo.InvariantCulture);
            var size = cells.Single(c => c.Cohort == cohorts[y] && c.Since == 0).Users;
            for (var x = 0; x <= maxX; x++)
            {
                var cell = painted.SingleOrDefault(c => c.X == x && c.Y == y);
                if (cohort.AddDays(7 * x) > lastMonday)
                {
                    Assert.True(cell == default, $"cohort {cohorts[y]} week +{x} is still to come but painted");
                }
                else
                {
                    Assert.True(cell != default, $"cohort {cohorts[y]} week +{x} has happened but is blank");
                    var users = cells.SingleOrDefault(c => c.Cohort == cohorts[y] && c.Since == x).Users;
                    Assert.Equal(Math.Round(100.0 * users / size, 1), cell.Pct, 6);
                }
            }
        }
        await AssertFitsAsync(page, width);
    }

    [Theory]
    [InlineData("en", 1366)]
    [InlineData("es-MX", 390)]
    [InlineData("sv-SE", 390)]
    public async Task The_peer_benchmark_says_where_the_store_stands(string locale, int width)
    {
        await using var page = await OpenAsync(locale, width);
        await page.LogInAsync(fixture.VendorToken);
        Assert.Equal("ready", (await page.PanelStatesAsync())["benchmark"]);
        foreach (var metric in new[] { "gmv", "orders", "aov", "conversion_rate" })
        {
            using var answer = await GetAsync(fixture.VendorToken, $"/api/kpi/benchmark?metric={metric}&start_date=7d");
            var b = answer.RootElement;
            if (!b.GetProperty("available").GetBoolean() || b.GetProperty("value").ValueKind != JsonValueKind.Number)
            {
                continue;
            }
            var (value, p25, median, p75) = (b.GetProperty("value").GetDouble(), b.GetProperty("p25").GetDouble(), b.GetProperty("median").GetDouble(), b.GetProperty("p75").GetDouble());
            var expected = value > p75 ? "top-quarter" : value > median ? "above-median" : value == median ? "at-median" : value < p25 ? "bottom-quarter" : "below-median";
            Assert.Equal(expected, await page.Page.GetAttributeAsync($"#panel-benchmark tr[data-key={metric}] [data-standing]", "data-standing"));
            Assert.Contains(b.GetProperty("peers").GetInt32().ToString(CultureInfo.InvariantCulture), await page.Page.InnerTextAsync($"#panel-benchmark tr[data-key={metric}] [data-standing]"), StringComparison.Ordinal);
        }
        Assert.True(await page.Page.IsVisibleAsync("#panel-benchmark .standing"));
        await AssertFitsAsync(page, width);
    }

    [Theory]
    [InlineData("es-MX", 1366)]
    [InlineData("es-MX", 390)]
    [InlineData("es-CO", 1366)]
    [InlineData("es-CO", 390)]
    [InlineData("es-CL", 1366)]
    [InlineData("es-CL", 390)]
    [InlineData("sv-SE", 1366)]
    [InlineData("sv-SE", 390)]
    public async Task Every_page_is_translated_with_no_english_label_left(string locale, int width)
    {
        foreach (var role in new[] { "admin", "lead", "vendor" })
        {
            await using var page = await OpenAsync(locale, width);
            await page.Page.GotoAsync("/");
            Assert.Empty(await EnglishLeftAsync(page));
            await page.LogInAsync(Token(role));
            Assert.Equal(locale, await page.Page.GetAttributeAsync("html", "lang"));
            var left = await EnglishLeftAsync(page);
            Assert.True(left.Length == 0, $"{role} in {locale}: English left: {string.Join(" | ", left)}");
            Assert.Empty(page.ConsoleErrors);
        }
    }

    [Theory]
    [MemberData(nameof(LocalesAndWidths))]
    public async Task A_bad_shared_link_names_what_is_wrong_instead_of_showing_zeros(string locale, int width)
    {
        const string link = "/?start_date=2026-13-01&country=ZZ";
        var (status, body) = await GetRawAsync(fixture.AdminToken, "/api/kpi/query?metric=orders&aggregate=total&start_date=2026-13-01&country=ZZ");
        Assert.Equal(400, status);
        var message = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.Contains("start_date", message, StringComparison.Ordinal);

        await using var page = await OpenAsync(locale, width);
        await page.Page.GotoAsync(link);
        await page.Page.FillAsync("#token", fixture.AdminToken);
        await page.Page.ClickAsync("#login-form button[type=submit]");
        await page.Page.WaitForSelectorAsync("[data-state=bad-link]");
        var notice = await page.Page.InnerTextAsync("#notice");
        Assert.Contains(message, notice, StringComparison.Ordinal);
        Assert.Equal(0, await page.Page.Locator("#cards").CountAsync());
        Assert.Equal(0, await page.Page.Locator(".panel").CountAsync());
        if (locale != "en")
        {
            Assert.DoesNotContain("This link has a filter", notice, StringComparison.Ordinal);
        }
        await AssertFitsAsync(page, width);

        // The notice's button resets the filters and the page shows the default week.
        await page.Page.ClickAsync("[data-state=bad-link] button");
        await page.SettledAsync();
        Assert.Equal(0, await page.Page.Locator("[data-state=bad-link]").CountAsync());
        await page.AssertCardsEqualApiAsync(fixture.AdminToken, "start_date=7d");
    }

    private string Token(string role) => role switch
    {
        "admin" => fixture.AdminToken,
        "lead" => fixture.LeadToken,
        _ => fixture.VendorToken,
    };

    /// <summary>
    /// English labels left on the page: a label the page asked for with no entry in the locale's
    /// table, or a visible text or title that is one of the English labels (a hard-coded string).
    /// Text marked lang="en" (the KPI dictionary's definitions) and names from the data are not labels.
    /// </summary>
    private static Task<string[]> EnglishLeftAsync(DashboardPage page) => page.Page.EvaluateAsync<string[]>("""
        () => {
          const english = new Set(window.atalayaEnglishLabels());
          const left = [...window.atalayaUntranslated];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            const node = walker.currentNode;
            const text = node.textContent.trim();
            if (!text || node.parentElement.closest('[hidden], script, noscript, [lang=en]')) continue;
            if (english.has(text) || english.has(text.replace(/:$/, ''))) left.push('text: ' + text);
          }
          for (const e of document.querySelectorAll('[title], [aria-label]')) {
            for (const a of ['title', 'aria-label']) {
              const v = e.getAttribute(a);
              if (v && english.has(v.trim())) left.push(a + ': ' + v);
            }
          }
          if (english.has(document.title)) left.push('title: ' + document.title);
          return left;
        }
        """);

    private static async Task AssertFitsAsync(DashboardPage page, int width)
    {
        var overflow = await page.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than the {width} px screen");
    }

    /// <summary>Every money column shows all its amounts with the same number of decimals (after the locale's decimal sign).</summary>
    private static async Task AssertOneMoneyFormatPerColumnAsync(DashboardPage page, string locale)
    {
        var columns = await page.Page.EvaluateAsync<Dictionary<string, int[]>>($$"""
            () => {
              const decimal = new Intl.NumberFormat('{{locale}}').formatToParts(1.5).find(p => p.type === 'decimal').value;
              const out = {};
              for (const cell of document.querySelectorAll('td[data-money]')) {
                const key = cell.closest('.panel').dataset.panel + ':' + cell.dataset.col;
                const text = cell.innerText.replace(/[^\d.,]/g, '');
                if (!/\d/.test(text)) continue;
                const at = text.lastIndexOf(decimal);
                (out[key] ??= []).push(at < 0 ? 0 : text.length - at - 1);
              }
              return out;
            }
            """);
        Assert.NotEmpty(columns);
        foreach (var (column, decimals) in columns)
        {
            Assert.True(decimals.Distinct().Count() == 1, $"{column} mixes {string.Join(", ", decimals.Distinct())} decimals");
        }
    }

    private string StoreName(string storeId)
    {
        using var connection = fixture.Hub.Server.Hub.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT store_name FROM stores WHERE store_id = $id;";
        command.Parameters.AddWithValue("$id", storeId);
        return (string)command.ExecuteScalar()!;
    }

    private async Task<JsonDocument> GetAsync(string token, string path)
    {
        var (status, body) = await GetRawAsync(token, path);
        Assert.True(status == 200, $"{path}: {status} {body}");
        return JsonDocument.Parse(body);
    }

    private async Task<(int Status, string Body)> GetRawAsync(string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await fixture.Hub.Server.Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
