using System.CommandLine;
using System.IO.Pipelines;
using Atalaya.Engine.Access;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Hosting;
using Atalaya.Http;

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
        var quarantinePerRequest = new Option<int>("--quarantine-per-request")
        {
            Description = "Rejected events of one request stored whole in failed_events; the rest are counted (docs/collector.md).",
            DefaultValueFactory = _ => IngestOptions.DefaultQuarantinePerRequest,
            HelpName = "N",
        };
        var quarantinePerSource = new Option<int>("--quarantine-per-source-hour")
        {
            Description = "Rejected events of one source stored whole per clock hour; past it they are counted only.",
            DefaultValueFactory = _ => IngestOptions.DefaultQuarantinePerSourcePerHour,
            HelpName = "N",
        };
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var clickHouse = new Option<string?>("--clickhouse")
        {
            Description = "Run as a cluster node: ClickHouse's HTTP interface, e.g. http://127.0.0.1:8123/atalaya (with --rabbitmq; docs/scale-out.md).",
            HelpName = "URL",
        };
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "Run as a cluster node: the RabbitMQ broker, e.g. amqp://guest:guest@127.0.0.1:5672/ (with --clickhouse).", HelpName = "URI" };
        var postgres = CommonOptions.Postgres("On a cluster node (with --clickhouse and --rabbitmq): keep tokens, job runs and locks, the audit log, alerts and their outbox, SLO counts, the marts, stored reports, quality findings, refused events, and the connectors' pages and dead letters and webhook bodies, shared by every node,");
        var queueShards = new Option<int>("--queue-shards") { Description = "Shard queues on a cluster; every node must use the same number.", DefaultValueFactory = _ => 4, HelpName = "N" };
        var role = new Option<string>("--role")
        {
            Description = "On a cluster node: all (collect, write to ClickHouse and answer), collect (collect and write; no KPI projection), or answer (answer only) (docs/scale-out.md, \"Node roles\").",
            DefaultValueFactory = _ => "all",
            HelpName = "ROLE",
        };
        role.AcceptOnlyFromAmong([.. Engine.Cluster.ClusterRoles.Names]);
        var noScheduler = new Option<bool>("--no-scheduler") { Description = "Do not run scheduled jobs in this process (run them with `atalaya jobs run`)." };
        var command = new Command("serve", "Run the hub: collector, metrics API, KPI engine, job scheduler and health endpoints.")
        {
            data, urls, demo, demoDays, rateLimit, minimumPeers, logFormat, currency, maxPages, quarantinePerRequest, quarantinePerSource,
            environment, configDirectory, noScheduler, clickHouse, rabbitMq, postgres, queueShards, role,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(demoDays) is < 1 or > 3650)
            {
                return CommonOptions.Fail($"--demo-days must be between 1 and 3650, got {parse.GetValue(demoDays)}.");
            }
            if (parse.GetValue(rateLimit) < 0)
            {
                return CommonOptions.Fail($"--rate-limit must be 0 (unlimited) or more requests per second, got {parse.GetValue(rateLimit)}.");
            }
            if (parse.GetValue(minimumPeers) < 1)
            {
                return CommonOptions.Fail($"--benchmark-min-peers must be at least 1, got {parse.GetValue(minimumPeers)}.");
            }
            if (parse.GetValue(maxPages) is < 16)
            {
                return CommonOptions.Fail($"--max-db-pages must be at least 16 pages (256 KiB), got {parse.GetValue(maxPages)}.");
            }
            var reporting = parse.GetValue(currency)!;
            if (reporting.Length != 3 || !reporting.All(char.IsAsciiLetterUpper))
            {
                return CommonOptions.Fail("--reporting-currency must be an ISO 4217 code like USD.");
            }
            if (parse.GetValue(quarantinePerRequest) < 0 || parse.GetValue(quarantinePerSource) < 0)
            {
                return CommonOptions.Fail("--quarantine-per-request and --quarantine-per-source-hour must be 0 or more.");
            }
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            // The command line wins over the environment file's cluster section, option by option.
            var fromFile = config.Cluster;
            if (fromFile.UnsetVariables().FirstOrDefault() is { } unset)
            {
                return CommonOptions.Fail($"{config.Source}: {unset}; export it before starting, or remove the key (docs/scale-out.md).");
            }
            var clickHouseUrl = parse.GetValue(clickHouse) ?? fromFile.ClickHouseUrl();
            var rabbitMqUri = parse.GetValue(rabbitMq) ?? fromFile.RabbitMqUri();
            var postgresConnection = parse.GetValue(postgres) ?? fromFile.PostgresConnection();
            var shards = parse.GetResult(queueShards) is { Implicit: false } ? parse.GetValue(queueShards) : fromFile.QueueShards;
            var roleName = parse.GetResult(role) is { Implicit: false } ? parse.GetValue(role)! : fromFile.Role;
            if (parse.GetValue(demo) && clickHouseUrl is not null)
            {
                return CommonOptions.Fail("--demo fills this node's data folder, while a cluster's events live in ClickHouse. Run `serve --demo` without --clickhouse/--rabbitmq, then `atalaya migrate --to-cluster` to move its events (docs/scale-out.md).");
            }
            if ((clickHouseUrl is null) != (rabbitMqUri is null))
            {
                return CommonOptions.Fail("a cluster node needs both --clickhouse URL and --rabbitmq URI (docs/scale-out.md); give both, or neither for the embedded hub.");
            }
            if (postgresConnection is not null && clickHouseUrl is null)
            {
                return CommonOptions.Fail("--postgres holds the state cluster nodes share, so it goes with --clickhouse URL and --rabbitmq URI (docs/scale-out.md); the embedded hub keeps its tokens and runs in --data. Add both, or leave --postgres out.");
            }
            Engine.Cluster.ClusterRoles.TryParse(roleName, out var nodeRole);
            if (nodeRole != Engine.Cluster.ClusterRole.All && clickHouseUrl is null)
            {
                return CommonOptions.Fail($"--role {roleName} splits the work of cluster nodes, so it goes with --clickhouse URL and --rabbitmq URI (docs/scale-out.md); the embedded hub always does everything. Add both, or leave --role out.");
            }
            Engine.Cluster.ClusterNode? cluster = null;
            if (clickHouseUrl is not null && rabbitMqUri is not null)
            {
                try
                {
                    cluster = Engine.Cluster.ClusterNode.Create(clickHouseUrl, rabbitMqUri, shards, nodeRole);
                }
                catch (ArgumentException e)
                {
                    return CommonOptions.Fail(e.Message);
                }
            }
            Engine.Postgres.PostgresState? shared = null;
            if (postgresConnection is not null && (shared = CommonOptions.OpenPostgres(postgresConnection)) is null)
            {
                return 2;
            }
            // Disposed after the host has stopped and the hub has flushed its last token use times.
            using var sharedState = shared;
            // Before the hub is opened: its load is the first touch of most of the heap.
            var hugePages = HugePages.AdviseManagedHeap();
            var options = new ServeOptions
            {
                HeapPages = hugePages.Skipped is { } skipped ? $"4 KiB pages ({skipped})" : $"huge pages advised for its {hugePages.Bytes >> 30} GiB reservation",
                Config = config,
                // A cluster node runs jobs only with --postgres: its job locks and runs are shared there,
                // so each job runs once across nodes; and only if it answers (jobs read the KPI projection,
                // which a collecting node does not hold).
                RunScheduler = !parse.GetValue(noScheduler) && (cluster is null || (shared is not null && cluster.Answers)),
                SchedulerOff = parse.GetValue(noScheduler) || cluster is null ? null
                    : shared is null ? "a cluster node runs scheduled jobs only with --postgres, where the nodes share the job locks and runs (docs/scale-out.md, \"Jobs on a cluster\")"
                    : !cluster.Answers ? "a collecting node (--role collect) holds no KPI projection for the jobs to read; an answering node runs them (docs/scale-out.md, \"Node roles\")"
                    : null,
                // With PostgreSQL, one answering node at a time evaluates the rules (AlertEvaluatorLock).
                RunAlerts = cluster is null || (shared is not null && cluster.Answers),
                DataDirectory = parse.GetValue(data)!,
                Urls = parse.GetValue(urls)!,
                RateLimitPerSecond = parse.GetValue(rateLimit),
                BenchmarkMinimumPeers = Math.Max(1, parse.GetValue(minimumPeers)),
                JsonLogs = parse.GetValue(logFormat) == "json",
                Ingest = new IngestOptions
                {
                    ReportingCurrency = reporting,
                    QuarantinePerRequest = parse.GetValue(quarantinePerRequest),
                    QuarantinePerSourcePerHour = parse.GetValue(quarantinePerSource),
                    IpV4PrefixBits = config.Privacy.IpV4PrefixBits,
                    IpV6PrefixBits = config.Privacy.IpV6PrefixBits,
                    // A collecting node answers no reads: its normalizing need not yield to them.
                    NormalizeBehindReads = cluster is not { Answers: false },
                },
                MaxPageCount = parse.GetValue(maxPages),
                Cluster = cluster,
                Postgres = shared,
            };
            NativeHeap.Configure();
            ThreadPoolFloor.Raise();
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

    /// <summary>A token minted by <c>serve --demo</c> (by its name: nobody else is given these names by the demo).</summary>
    internal static bool IsDemoToken(TokenInfo token) =>
        token.Name is "demo admin" or "demo write key" or "demo ops lead MX" || token.Name.StartsWith("demo vendor ", StringComparison.Ordinal);

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
        var hub = await state.OpenedAsync(ct);
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
            while (await jobs.RunAsync(Engine.JobCatalog.QualityJob, "demo") is null)
            {
                await Task.Delay(500, ct);
            }
        }
        else
        {
            Console.WriteLine($"The data folder already holds {hub.Log.EventCount:N0} events; no demo data added.");
        }
        // Each start prints fresh tokens (secrets are stored hashed and cannot be shown again), so the
        // previous start's demo tokens are revoked instead of piling up as live, never-expiring keys.
        var revoked = hub.Tokens.List().Where(t => !t.IsRevoked && IsDemoToken(t)).Count(t => hub.Tokens.Revoke(t.Id));
        if (revoked > 0)
        {
            Console.WriteLine($"Revoked the {revoked} demo tokens printed by the previous start; use the new ones below.");
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
