using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Playwright;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// One browser context on the hub's dashboards: logs in, waits until every panel has settled,
/// reads the cards, and records console errors and the requests that answered 404.
/// </summary>
public sealed class DashboardPage : IAsyncDisposable
{
    /// <summary>
    /// How long a test waits for a posted event to show on the page. A bound for a busy CI machine,
    /// not a timing: the page polls every 10 s, so this covers several polls or stream summaries
    /// (how soon a figure follows an event is measured by `bench delays`).
    /// </summary>
    public const float FigureWaitMs = 45_000;

    private readonly DashboardFixture _fixture;

    private DashboardPage(DashboardFixture fixture, IBrowserContext context, IPage page)
    {
        _fixture = fixture;
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                ConsoleErrors.Add($"{message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => ConsoleErrors.Add("page error: " + error);
        page.Request += (_, request) => Requests.Add(request.Url);
        page.Response += (_, response) =>
        {
            if (response.Status == 404)
            {
                NotFound.Add(new Uri(response.Url).AbsolutePath);
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public List<string> ConsoleErrors { get; } = [];

    public List<string> NotFound { get; } = [];

    public List<string> Requests { get; } = [];

    public static async Task<DashboardPage> OpenAsync(DashboardFixture fixture, BrowserNewContextOptions? options = null, Func<IBrowserContext, Task>? setup = null)
    {
        options ??= new BrowserNewContextOptions();
        options.BaseURL = fixture.BaseAddress.ToString();
        options.Locale ??= "en-US";
        options.ViewportSize ??= new ViewportSize { Width = 1280, Height = 900 };
        var context = await fixture.Browser.NewContextAsync(options);
        // A bound for a busy CI machine (a page load took over 20 s there once), not a timing.
        context.SetDefaultTimeout(45_000);
        if (setup is not null)
        {
            await setup(context);
        }
        return new DashboardPage(fixture, context, await context.NewPageAsync());
    }

    public async Task LogInAsync(string token, string pathAndQuery = "/")
    {
        await Page.GotoAsync(pathAndQuery);
        await Page.FillAsync("#token", token);
        await Page.ClickAsync("#login-form button[type=submit]");
        await SettledAsync();
    }

    /// <summary>
    /// Waits until the cards and every panel have left their loading state. The bound is a minute,
    /// not the context's 20 s: the first page of a run can meet a machine busy starting the
    /// scale-out tests' servers. When it passes, the exception says which parts were still loading.
    /// </summary>
    public async Task SettledAsync()
    {
        try
        {
            await Page.WaitForFunctionAsync("""
                () => document.querySelector('#cards')?.dataset.state === 'ready'
                  && document.querySelectorAll('.panel').length > 0
                  && ![...document.querySelectorAll('.panel')].some(p => p.dataset.state === 'loading')
                """, null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        }
        catch (TimeoutException e)
        {
            var state = await Page.EvaluateAsync<string>("""
                () => 'url ' + location.href + '; cards ' + (document.querySelector('#cards')?.dataset.state ?? 'missing') + '; panels '
                  + JSON.stringify(Object.fromEntries([...document.querySelectorAll('.panel')].map(p => [p.dataset.panel, p.dataset.state])))
                """);
            throw new TimeoutException($"the dashboard did not settle within a minute: {state}; requests: {string.Join(", ", Requests.TakeLast(20))}", e);
        }
    }

    /// <summary>Each card's raw figure (data-value), null where the card shows none.</summary>
    public async Task<Dictionary<string, double?>> CardValuesAsync()
    {
        var raw = await Page.EvalOnSelectorAllAsync<Dictionary<string, string>[]>("#cards [data-metric]",
            "cards => cards.map(c => ({ metric: c.dataset.metric, value: c.dataset.value }))");
        return raw.ToDictionary(r => r["metric"], r => r["value"] is { Length: > 0 } v ? double.Parse(v, CultureInfo.InvariantCulture) : (double?)null);
    }

    public async Task<double?> CardValueAsync(string metric) => (await CardValuesAsync())[metric];

    public Task<Dictionary<string, string>> PanelStatesAsync() =>
        Page.EvalOnSelectorAllAsync<Dictionary<string, string>>(".panel", "ps => Object.fromEntries(ps.map(p => [p.dataset.panel, p.dataset.state]))");

    public Task<string> LiveStateAsync() => Page.GetAttributeAsync("#live", "data-state")!;

    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>The same figures from the metrics API, with the same token and parameters the page uses.</summary>
    public async Task<Dictionary<string, double?>> ApiTotalsAsync(string token, IEnumerable<string> metrics, string parameters)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/kpi/query?metric={string.Join(',', metrics)}&aggregate=total&{parameters}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _fixture.Hub.Server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{request.RequestUri}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray().ToDictionary(
            r => r.GetProperty("metric").GetString()!,
            r => r.GetProperty("value").ValueKind == JsonValueKind.Number ? r.GetProperty("value").GetDouble() : (double?)null);
    }

    /// <summary>Asserts every card equals the API's figure (to the last bit a double survives a round trip through the DOM).</summary>
    public async Task AssertCardsEqualApiAsync(string token, string parameters)
    {
        var cards = await CardValuesAsync();
        Assert.NotEmpty(cards);
        var api = await ApiTotalsAsync(token, cards.Keys, parameters);
        foreach (var (metric, shown) in cards)
        {
            var expected = api[metric];
            Assert.True(expected is null ? shown is null : shown is { } s && Math.Abs(s - expected.Value) <= 1e-9 * Math.Max(1, Math.Abs(expected.Value)),
                $"card {metric} shows {shown?.ToString(CultureInfo.InvariantCulture) ?? "nothing"}, the API says {expected?.ToString(CultureInfo.InvariantCulture) ?? "null"} ({parameters})");
        }
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
