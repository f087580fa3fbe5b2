using System.CommandLine;
using System.IO.Pipelines;
using Atalaya.Engine.Access;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Hosting;

namespace Atalaya.Cli;

/// <summary><c>atalaya serve</c>: collector, KPI engine, metrics API, job scheduler and dashboards in one process.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var urls = new Option<string>("--urls")
        {
            Description = "Where to listen (default http://127.0.0.1:5080, or ATALAYA_URLS).",
            HelpName = "URL",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ATALAYA_URLS") is { Length: > 0 } fromEnv ? fromEnv : "http://127.0.0.1:5080",
        };
        var demo = new Option<bool>("--demo") { Description = "Fill an empty data folder with generated marketplace data and print an admin token and a write key." };
        var demoDays = new Option<int>("--demo-days") { Description = "Days of demo history.", DefaultValueFactory = _ => 60, HelpName = "N" };
        var minimumPeers = new Option<int>("--benchmark-min-peers") { Description = "Comparable stores needed before /api/kpi/benchmark shows peer quartiles.", DefaultValueFactory = _ => 5, HelpName = "K" };
        var rateLimit = new Option<int>("--rate-limit") { Description = "Collector requests per second per source (0 = unlimited).", DefaultValueFactory = _ => 0, HelpName = "N" };
        var logFormat = new Option<string>("--log-format") { Description = "text or json (structured, one object per line).", DefaultValueFactory = _ => "text", HelpName = "FORMAT" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var currency = new Option<string>("--reporting-currency") { Description = "ISO 4217 currency KPIs are reported in.", DefaultValueFactory = _ => "USD", HelpName = "CODE" };
        var maxPages = new Option<int?>("--max-db-pages") { Description = "Cap the database at this many 16 KiB pages (the collector answers 503 when full).", HelpName = "N" };
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var noScheduler = new Option<bool>("--no-scheduler") { Description = "Do not run scheduled jobs in this process (run them with `atalaya jobs run`)." };
        var command = new Command("serve", "Run the hub: collector, metrics API, KPI engine, job scheduler and health endpoints.")
        {
            data, urls, demo, demoDays, rateLimit, minimumPeers, logFormat, currency, maxPages, environment, configDirectory, noScheduler,
        };
        command.SetAction(async (parse, ct) =>
        {
            var reporting = parse.GetValue(currency)!;
            if (reporting.Length != 3 || !reporting.All(char.IsAsciiLetterUpper))
            {
                return CommonOptions.Fail("--reporting-currency must be an ISO 4217 code like USD.");
            }
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var options = new ServeOptions
            {
                Config = config,
                RunScheduler = !parse.GetValue(noScheduler),
                DataDirectory = parse.GetValue(data)!,
                Urls = parse.GetValue(urls)!,
                RateLimitPerSecond = parse.GetValue(rateLimit),
                BenchmarkMinimumPeers = Math.Max(1, parse.GetValue(minimumPeers)),
                JsonLogs = parse.GetValue(logFormat) == "json",
                Ingest = new IngestOptions { ReportingCurrency = reporting },
                MaxPageCount = parse.GetValue(maxPages),
            };
            var app = HubHost.Build(options);
            try
            {
                await app.StartAsync(ct);
            }
            catch (IOException ex)
            {
                return CommonOptions.Fail($"cannot listen on {options.Urls}: {ex.Message} Use --urls with a free port.");
            }
            if (parse.GetValue(demo))
            {
                await LoadDemoAsync(app, parse.GetValue(demoDays), options, ct);
            }
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return command;
    }

    /// <summary>The first Mexican demo store whose peer benchmark is available over the last 30 days, else mx-001.</summary>
    private static string DemoVendorStore(Engine.Hub hub, int minimumPeers)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        for (var n = 1; n <= 30; n++)
        {
            var store = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"mx-{n:000}");
            try
            {
                if (hub.Kpis.Benchmark(Engine.Kpi.KpiId.Gmv, store, today.AddDays(-29), today, TimeZoneInfo.Utc, AccessScope.Everything, minimumPeers).Available)
                {
                    return store;
                }
            }
            catch (Engine.Kpi.Query.KpiQueryException)
            {
                break;
            }
        }
        return "mx-001";
    }

    private static async Task LoadDemoAsync(WebApplication app, int days, ServeOptions options, CancellationToken ct)
    {
        var state = app.Services.GetRequiredService<HubState>();
        while (state.Current is null)
        {
            await Task.Delay(50, ct);
        }
        var hub = state.Current;
        if (hub.Log.EventCount == 0)
        {
            Console.WriteLine($"Generating {days} days of demo marketplace data into {hub.Database.DataDirectory} …");
            var started = System.Diagnostics.Stopwatch.StartNew();
            var pipe = new Pipe();
            var producer = Task.Run(async () =>
            {
                await using var stream = pipe.Writer.AsStream();
                DemoGenerator.WriteNdjson(new DemoOptions(Days: days, PlantedPairs: true), stream);
            }, ct);
            var summary = await NdjsonImporter.ImportAsync(hub.Pipeline, pipe.Reader.AsStream(), "demo", cancellationToken: ct);
            await producer;
            Console.WriteLine($"Loaded {summary.Accepted:N0} demo events in {started.Elapsed.TotalSeconds:F1} s ({summary.Rejected:N0} rejected).");
            // The marts (daily_metrics, fact_kpi_daily, …) hold closed days: build them now rather
            // than at the next scheduled run, waiting for a catch-up run that may hold the lock.
            var jobs = app.Services.GetRequiredService<Jobs.JobService>();
            while (await jobs.RunAsync("daily_batch", "demo") is null)
            {
                await Task.Delay(500, ct);
            }
            // And the data-quality findings, so the admin view's panel is filled from the start.
            while (await jobs.RunAsync(Engine.Jobs.JobCatalog.QualityJob, "demo") is null)
            {
                await Task.Delay(500, ct);
            }
        }
        else
        {
            Console.WriteLine($"The data folder already holds {hub.Log.EventCount:N0} events; no demo data added.");
        }
        var (_, admin) = hub.Tokens.Create(new TokenRequest(Role.Admin, "demo admin"));
        var (_, write) = hub.Tokens.Create(new TokenRequest(Role.Write, "demo write key", Source: "demo"));
        // One token per dashboard view: the demo's largest market, and a store of it with enough peers to show the benchmark.
        var (_, lead) = hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "demo ops lead MX", Countries: ["MX"]));
        var store = DemoVendorStore(hub, options.BenchmarkMinimumPeers);
        var (_, vendor) = hub.Tokens.Create(new TokenRequest(Role.Vendor, "demo vendor " + store, Stores: [store]));
        var url = options.Urls.Split(';')[0].TrimEnd('/');
        Console.WriteLine($$$"""

            Atalaya is running at {{{url}}}
              Dashboards:  {{{url}}}/ (log in with a token below; the vendor's store is {{{store}}})
              Admin token: {{{admin}}}
              Ops lead MX: {{{lead}}}
              Vendor:      {{{vendor}}}
              Write key:   {{{write}}}

            Send an event:
              curl -s {{{url}}}/api/events -H 'Authorization: Bearer {{{write}}}' -H 'Content-Type: application/json' \
                -d '{"event_id":"try-1","event_type":"page_view","timestamp":"{{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}}","context":{"page_url":"https://shop.example/"}}'

            Press Ctrl+C to stop.
            """);
    }
}
