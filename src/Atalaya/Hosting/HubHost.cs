using System.Text.Json.Serialization;
using Atalaya.Access;
using Atalaya.Alerts;
using Atalaya.Collect;
using Atalaya.Dashboard;
using Atalaya.Health;
using Atalaya.Http;
using Atalaya.Jobs;
using Atalaya.Kpi;
using Atalaya.Metrics;
using Atalaya.Quality;
using Atalaya.Recommendations;
using Atalaya.Reports;
using Atalaya.Slo;
using Atalaya.Webhooks;
using Microsoft.AspNetCore.Connections;

namespace Atalaya.Hosting;

/// <summary>
/// Builds the web application: Kestrel on the given URLs, the features' endpoints, logs that
/// never carry secrets. Program.cs, the tests and the benchmark all start the hub through here.
/// </summary>
public static class HubHost
{
    public static WebApplication Build(ServeOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The collector enforces its own, per-endpoint limits (413 with a message); this is a backstop.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
            kestrel.AddServerHeader = false;
        });
        builder.Logging.ClearProviders();
        if (options.JsonLogs)
        {
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }
        // Request logs would include paths and query strings; tokens never travel there, but the
        // framework's per-request chatter is not useful at Information level either.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        // Kestrel's transports take their memory pools from this factory: 64 KiB receive blocks
        // instead of 4 KiB cut the collector's receive calls sixteenfold (LargeBlockMemoryPool).
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPool.Factory>();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            // The OpenAPI document describes the typed answers with these options: names as the wire has them.
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
            // Each feature's typed answers (Http/Answers.cs), so the document has their schemas.
            JsonSerializerContext[] answers = [ErrorJson.Web, Collect.CollectJson.Web, Health.ProbeJson.Web, Webhooks.WebhooksJson.Web, AccessJson.Web, JobsJson.Web, QualityJson.Web, AlertsJson.Web, ReportsJson.Web, SloJson.Web, Privacy.PrivacyJson.Web, BenchmarkJson.Web];
            for (var i = 0; i < answers.Length; i++)
            {
                json.SerializerOptions.TypeInfoResolverChain.Insert(i, answers[i]);
            }
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<HubState>();
        builder.Services.AddSingleton(new SourceRateLimiter(options.RateLimitPerSecond));
        builder.Services.AddHostedService<HubLoader>();
        builder.Services.AddSingleton(new RequestActivity(options.Time));
        builder.Services.AddSingleton<IdleMemoryTrim>();
        builder.Services.AddHostedService(services => services.GetRequiredService<IdleMemoryTrim>());
        builder.Services.AddSingleton<JobService>();
        builder.Services.AddHostedService<RecommendationLoader>();
        builder.Services.AddHostedService<Cluster.ClusterService>();
        if (options.RunScheduler)
        {
            builder.Services.AddHostedService<JobScheduler>();
        }
        builder.Services.AddSingleton<SloRecorder>();
        builder.Services.AddSingleton<HubMetrics>();
        builder.Services.AddHostedService<KpiGaugeService>();
        builder.Services.AddHostedService<SloService>();
        builder.Services.AddSingleton<AlertService>();
        if (options.RunAlerts)
        {
            builder.Services.AddHostedService(services => services.GetRequiredService<AlertService>());
        }
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Atalaya";
            document.Info.Description = "Collector, metrics and analysis API of the Atalaya analytics hub.";
            return Task.CompletedTask;
        }).AddSchemaTransformer(Answers.OmittedWhenNull));
        builder.Services.AddCors(cors => cors.AddPolicy("collector", policy =>
            policy.AllowAnyOrigin().AllowAnyHeader().WithMethods("POST")));

        var app = builder.Build();
        RequestActivity.Use(app);
        HubMetrics.UseRequestMetrics(app);
        app.UseCors();
        app.MapHealth();
        app.MapCollect();
        app.MapKpi();
        app.MapAccess();
        app.MapJobs();
        app.MapQuality();
        app.MapAlerts();
        app.MapMetrics();
        app.MapSlo();
        app.MapReports();
        app.MapWebhooks();
        app.MapRecommendations();
        Privacy.PrivacyEndpoints.MapPrivacy(app);
        app.MapOpenApi();
        app.MapDashboard();
        return app;
    }
}
