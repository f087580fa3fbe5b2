using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Cli;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Quality;

/// <summary>
/// The data-quality checks on a real hub: the profile's counters equal a plain count over the stored
/// events (also after late events, never counted twice), each check finds what was planted and
/// judges it by the environment's limits, time moving on turns freshness, marts and volume red,
/// and <c>GET /api/quality</c> and <c>atalaya quality</c> show the findings to the right people.
/// </summary>
public sealed class QualityTests : IAsyncLifetime
{
    private static readonly EnvironmentConfig Prod = new() { Environment = "prod" };

    private KpiHub _hub = null!;

    public async Task InitializeAsync() => _hub = await JobTestData.DemoHubAsync(days: 12, seed: 5);

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private Engine.Storage.HubDatabase Database => _hub.Server.Hub.Database;

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    private static string Ago(TimeSpan span) => EventBuilder.At(Now - span);

    private PipelineRun RunChecks(EnvironmentConfig? config = null, TimeProvider? time = null)
    {
        var result = new JobRunner(Database, _hub.Server.Hub.Kpis, config ?? Prod, time).Run(JobCatalog.QualityJob, "test");
        Assert.Null(result.BusyWith);
        Assert.Equal(RunStatus.Success, result.Run!.Status);
        return result.Run;
    }

    private IReadOnlyList<QualityResult> Findings(PipelineRun run) => QualityResults.Read(Database, run.RunId);

    private static QualityResult Find(IReadOnlyList<QualityResult> findings, string check, string subject) =>
        findings.SingleOrDefault(f => f.Check == check && f.Subject == subject) ?? throw new Xunit.Sdk.XunitException(
            $"no {check}/{subject}; found: {string.Join(", ", findings.Select(f => f.Check + "/" + f.Subject))}");

    /// <summary>Events that break each rule once or more, all within the last 7 days, plus a late one.</summary>
    private async Task PlantProblemsAsync()
    {
        var b = new EventBuilder("dq");
        var store = _hub.Reference.Events.First(e => e.Type == "store_created").Text("store_id")!;
        var at = Ago(TimeSpan.FromHours(30));
        // Drift: a type the catalog does not know, a property it does not declare, a top-level member.
        b.Add("coupon_redeemed", at, "u-dq", "s-dq", properties: new JsonObject { ["code"] = "X" });
        b.Add("coupon_redeemed", Ago(TimeSpan.FromHours(3)), "u-dq", "s-dq");
        b.ProductView(at, "u-dq", "s-dq", store, "p-dq", "Thing")["properties"]!["colour"] = "red";
        b.PageView(at, "u-dq", "s-dq")["experiment"] = "b";
        // Orders without any user key, page views without a session, a store nobody registered.
        b.Order(at, "o-dq-1", store, user: null, session: "s-dq");
        b.Order(at, "o-dq-2", store, user: null, session: "s-dq");
        b.PageView(at, "u-dq", session: null);
        b.StoreVisit(at, "u-dq", "s-dq", "never-registered", place: new Place(Country: null, Source: null));
        // A monetary event whose rate can be found nowhere.
        b.Payment(at, true, 120m, "u-dq", currency: "BRL", fx: null);
        // Amounts that do not add up: a subtotal that is not the lines' sum, a snapshot whose total is off, a commission above the total.
        b.Order(at, "o-dq-3", store, "u-dq", "s-dq", items: [("p-1", 2, 50m)])["properties"]!["subtotal"] = 90;
        b.Status(at, "o-dq-3", store, "ENTREGADO", total: 100)["properties"]!["snapshot"]!["total"] = 130;
        b.Status(at, "o-dq-1", store, "ENTREGADO", total: 100, commission: 150);
        // Final statuses of an order the hub never saw placed (its amounts add up).
        b.Status(at, "o-dq-ghost", store, "ENTREGADO", total: 100, commission: 10);
        b.Status(Ago(TimeSpan.FromHours(20)), "o-dq-ghost", store, "REEMBOLSADO", total: 100, commission: 10);
        // A clock three days ahead: clamped on arrival.
        b.PageView(EventBuilder.At(Now.AddDays(3)), "u-dq", "s-dq");
        var answer = await _hub.PostAsync(b.Events);
        Assert.Equal(b.Events.Count, answer.GetProperty("accepted").GetInt32());
    }

    [Fact]
    public async Task Profile_counters_equal_a_plain_count_of_the_stored_events_and_late_events_are_counted_once_in_their_day()
    {
        await PlantProblemsAsync();
        RunChecks();
        Assert.Equal(ReferenceProfile(), StoredProfile());
        Assert.Equal(ReferenceDrift(), StoredDrift());

        // Nothing new: a second pass adds nothing.
        var again = RunChecks();
        Assert.Contains("\"events\":0", again.Details, StringComparison.Ordinal);
        Assert.Equal(ReferenceProfile(), StoredProfile());

        // A late event for a day counted long ago adds to that day only.
        var b = new EventBuilder("late");
        var lateDay = Ago(TimeSpan.FromDays(9));
        b.Order(lateDay, "o-late", _hub.Reference.Events.First(e => e.Type == "store_created").Text("store_id")!, user: null);
        b.Add("coupon_redeemed", lateDay, "u-late");
        await _hub.PostAsync(b.Events);
        RunChecks();
        Assert.Equal(ReferenceProfile(), StoredProfile());
        Assert.Equal(ReferenceDrift(), StoredDrift());
    }

    [Fact]
    public async Task Each_check_finds_what_was_planted_and_judges_it_by_the_environments_limits()
    {
        await PlantProblemsAsync();
        var findings = Findings(RunChecks());
        var events = StoredEvents.All(_hub.Server.DataDirectory);
        var today = DateOnly.FromDateTime(Now.UtcDateTime);
        var week = events.Where(e => Day(e) >= today.AddDays(-6) && Day(e) <= today).ToList();

        // Null rates: exactly the share of the week's orders with neither user_id nor anonymous_id.
        var orders = week.Where(e => Type(e) == "purchase_completed").ToList();
        var keyless = orders.Count(e => !HasText(e, "user_id") && !HasText(e, "anonymous_id"));
        var users = Find(findings, "null_rate", "purchase_completed.user_key");
        Assert.Equal(Math.Round(100.0 * keyless / orders.Count, 3), users.Value);
        Assert.Equal(QualityResult.Judge(users.Value!.Value, Prod.Quality.NullRateWarnPct, Prod.Quality.NullRateFailPct), users.Status);
        Assert.True(keyless >= 2);
        var views = week.Where(e => Type(e) == "page_view").ToList();
        Assert.Equal(Math.Round(100.0 * views.Count(e => !HasText(e, "session_id")) / views.Count, 3), Find(findings, "null_rate", "page_view.session_id").Value);
        var country = Find(findings, "null_rate", "store_events.country");
        Assert.True(country.Value > 0, country.Message);
        Assert.Contains("store_created", country.Message, StringComparison.Ordinal);
        var money = week.Where(e => EventCatalog.Default.TryGet(Type(e), out var rule) && rule.Monetary).ToList();
        var unrated = money.Count(e => e.TryGetProperty("flags", out var flags) && flags.EnumerateArray().Any(f => f.GetString() == "fx_rate_missing"));
        var fx = Find(findings, "null_rate", "money_events.fx_rate");
        Assert.True(unrated >= 1);
        Assert.Equal(Math.Round(100.0 * unrated / money.Count, 3), fx.Value);
        Assert.Equal(QualityResult.Judge(fx.Value!.Value, Prod.Quality.NullRateWarnPct, Prod.Quality.NullRateFailPct), fx.Status);

        // Consistency: the three planted orders, out of the week's orders and snapshots.
        var amounts = Find(findings, "consistency", "order_amounts");
        var orderEvents = week.Count(e => Type(e) is "purchase_completed" or "order_status_changed");
        Assert.Equal(Math.Round(100.0 * 3 / orderEvents, 3), amounts.Value);
        Assert.Equal(QualityResult.Judge(amounts.Value!.Value, Prod.Quality.ConsistencyWarnPct, Prod.Quality.ConsistencyFailPct), amounts.Status);
        Assert.NotEqual(QualityStatus.Ok, amounts.Status);
        // Unknown orders: the week's final statuses whose order has no purchase_completed anywhere, out of the week's final statuses.
        var placed = events.Where(e => Type(e) == "purchase_completed").Select(e => e.GetProperty("properties").GetProperty("order_id").GetString()).ToHashSet();
        var finals = week.Where(e => Type(e) == "order_status_changed" && e.GetProperty("properties").TryGetProperty("snapshot", out _)).ToList();
        var ghosts = finals.Count(e => !placed.Contains(e.GetProperty("properties").GetProperty("order_id").GetString()));
        var unknown = Find(findings, "consistency", "unknown_orders");
        Assert.Equal(2, ghosts);
        Assert.Equal(Math.Round(100.0 * ghosts / finals.Count, 3), unknown.Value);
        Assert.Equal(QualityResult.Judge(unknown.Value!.Value, Prod.Quality.ConsistencyWarnPct, Prod.Quality.ConsistencyFailPct), unknown.Status);
        Assert.Contains($"{ghosts} of {finals.Count}", unknown.Message, StringComparison.Ordinal);
        var future = Find(findings, "consistency", "future_timestamps");
        Assert.Equal(Math.Round(100.0 / week.Count, 3), future.Value);
        Assert.Equal(QualityResult.Judge(future.Value!.Value, Prod.Quality.ConsistencyWarnPct, Prod.Quality.ConsistencyFailPct), future.Status);
        Assert.Contains("1 of", future.Message, StringComparison.Ordinal);

        // Drift: named, counted, and a warning rather than a failure.
        Assert.Equal((QualityStatus.Warn, 2.0), (Find(findings, "schema_drift", "coupon_redeemed").Status, Find(findings, "schema_drift", "coupon_redeemed").Value!.Value));
        Assert.Equal(1, Find(findings, "schema_drift", "product_viewed.properties.colour").Value);
        Assert.Equal(1, Find(findings, "schema_drift", "page_view.experiment").Value);
        Assert.DoesNotContain(findings, f => f.Subject == "page_view.properties.store_id");

        // Fresh data, marts never built (the test hub has not run daily_batch), nothing rejected.
        Assert.Equal(QualityStatus.Ok, Find(findings, "freshness", "all").Status);
        Assert.All(findings.Where(f => f.Check == "mart_freshness"), f => Assert.Equal(QualityStatus.Fail, f.Status));
        Assert.Equal((QualityStatus.Ok, 0.0), (Find(findings, "quarantine", "all").Status, Find(findings, "quarantine", "all").Value!.Value));
        Assert.Equal(QualityStatus.Skipped, Find(findings, "pipeline", "daily_batch").Status);

        // Stored with the run: the API and the CLI read these rows.
        Assert.Equal(findings.Count, JobTestData.Count(Database, "SELECT count(*) FROM dq_results"));
    }

    [Fact]
    public async Task Time_moving_on_without_new_events_turns_freshness_marts_and_volume_red()
    {
        JobTestData.Run(_hub, "daily_batch");
        var now = Findings(RunChecks());
        Assert.All(now.Where(f => f.Check is "mart_freshness"), f => Assert.Equal(QualityStatus.Ok, f.Status));
        Assert.Equal(QualityStatus.Ok, Find(now, "pipeline", "daily_batch").Status);
        Assert.Equal(QualityStatus.Ok, Find(now, "volume", "all").Status);

        // Four days later, with nothing sent since.
        var later = Findings(RunChecks(time: new ShiftedTime(TimeSpan.FromDays(4))));

        var fresh = Find(later, "freshness", "all");
        Assert.Equal(QualityStatus.Fail, fresh.Status);
        Assert.InRange(fresh.Value!.Value, 96, 97);
        Assert.All(later.Where(f => f.Check is "mart_freshness"), f => Assert.Equal((QualityStatus.Fail, 4.0), (f.Status, f.Value!.Value)));
        var volume = Find(later, "volume", "all");
        Assert.Equal(QualityStatus.Fail, volume.Status);
        Assert.Contains("No events on", volume.Message, StringComparison.Ordinal);
        Assert.Equal(QualityStatus.Skipped, Find(later, "quarantine", "all").Status);

        // The same hub judged by dev's looser limits: a day and a half late is only a warning there.
        var dev = new EnvironmentConfig { Environment = "dev", Quality = { FreshnessWarnHours = 12, FreshnessFailHours = 48 } };
        Assert.Equal(QualityStatus.Warn, Find(Findings(RunChecks(dev, new ShiftedTime(TimeSpan.FromHours(36)))), "freshness", "all").Status);
    }

    [Fact]
    public void A_failed_or_partial_last_run_of_a_scheduled_job_is_a_failing_or_warning_finding()
    {
        void Record(string job, RunStatus status, string? error)
        {
            var id = PipelineRuns.NewRunId(Now);
            PipelineRuns.Start(Database, new PipelineRun(id, job, "all", Now, null, RunStatus.Running, 0, null, "test", "{}"));
            PipelineRuns.Finish(Database, id, Now, status, 0, error, "{}");
        }
        Record("daily_batch", RunStatus.Failed, "product_metrics: disk full");
        Record("kpi_refresh", RunStatus.Partial, "snapshot: read-only folder");

        var findings = Findings(RunChecks());

        var batch = Find(findings, "pipeline", "daily_batch");
        Assert.Equal(QualityStatus.Fail, batch.Status);
        Assert.Contains("disk full", batch.Message, StringComparison.Ordinal);
        Assert.Equal(QualityStatus.Warn, Find(findings, "pipeline", "kpi_refresh").Status);
        // The checks judge other jobs, not their own runs; retention is off in this environment.
        Assert.DoesNotContain(findings, f => f.Check == "pipeline" && f.Subject is "dq_health" or "retention");
    }

    [Fact]
    public async Task Rejected_events_of_the_last_day_are_measured_per_source()
    {
        var bad = new EventBuilder("bad");
        for (var i = 0; i < 30; i++)
        {
            bad.Add("purchase_completed", Ago(TimeSpan.FromHours(1)), "u-bad"); // no order_id, store_id, …: rejected
        }
        // Every event refused (a 200 with each outcome): each lands in the quarantine with its reasons.
        using var refused = await _hub.Server.PostEventsAsync(EventBuilder.Ndjson(bad.Events), "application/x-ndjson");
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);

        var findings = Findings(RunChecks());

        var accepted = JobTestData.Count(Database, $"SELECT sum(event_count) FROM event_blocks WHERE received_at >= {Now.AddHours(-24).ToUnixTimeMilliseconds()}");
        var quarantine = Find(findings, "quarantine", "all");
        Assert.Equal(Math.Round(100.0 * 30 / (accepted + 30), 3), quarantine.Value!.Value, 3);
        Assert.Contains("30 of", quarantine.Message, StringComparison.Ordinal);
        Assert.Contains(findings, f => f.Check == "quarantine" && f.Subject != "all" && f.Value > 0);
    }

    [Fact]
    public async Task Api_serves_the_newest_findings_to_admin_and_analyst_only_with_filters_and_clear_errors()
    {
        var (status, empty) = await GetAsync(_hub.AdminToken, "/api/quality");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(JsonValueKind.Null, empty.GetProperty("run_id").ValueKind);
        Assert.Equal(0, empty.GetProperty("data").GetArrayLength());

        await PlantProblemsAsync();
        RunChecks();
        var run = RunChecks();
        var findings = Findings(run);

        (status, var all) = await GetAsync(_hub.AdminToken, "/api/quality");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(run.RunId, all.GetProperty("run_id").GetString());
        Assert.Equal(QualityResult.StatusName(QualityResults.Worst(findings)), all.GetProperty("status").GetString());
        var data = all.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(findings.Count, data.Count);
        Assert.Equal(findings.Select(f => f.Check + "/" + f.Subject), data.Select(d => d.GetProperty("check").GetString() + "/" + d.GetProperty("subject").GetString()));
        // Worst first.
        var order = data.Select(d => d.GetProperty("status").GetString() switch { "fail" => 0, "warn" => 1, "skipped" => 2, _ => 3 }).ToList();
        Assert.Equal(order.Order(), order);
        Assert.Equal(findings.Count(f => f.Status == QualityStatus.Fail), all.GetProperty("counts").GetProperty("fail").GetInt32());
        var drift = data.First(d => d.GetProperty("check").GetString() == "schema_drift");
        foreach (var field in new[] { "check", "subject", "status", "value", "unit", "warn_at", "fail_at", "message", "checked_at", "run_id" })
        {
            Assert.True(drift.TryGetProperty(field, out _), $"no {field}");
        }

        (status, var warnings) = await GetAsync(_hub.AdminToken, "/api/quality?status=warn&check=schema_drift,null_rate");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(findings.Count(f => f.Status == QualityStatus.Warn && f.Check is "schema_drift" or "null_rate"), warnings.GetProperty("data").GetArrayLength());
        Assert.All(warnings.GetProperty("data").EnumerateArray(), d => Assert.Equal("warn", d.GetProperty("status").GetString()));

        var analyst = _hub.Server.Hub.Tokens.Create(new TokenRequest(Role.Analyst, "analyst")).Secret;
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(analyst, "/api/quality")).Status);
        var vendor = _hub.Server.Hub.Tokens.Create(new TokenRequest(Role.Vendor, "vendor", Stores: ["mx-001"])).Secret;
        var lead = _hub.Server.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead", Countries: ["MX"])).Secret;
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(vendor, "/api/quality")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(lead, "/api/quality")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(null, "/api/quality")).Status);

        var (badStatus, badBody) = await GetAsync(_hub.AdminToken, "/api/quality?status=red");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Contains("status", badBody.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("warn", badBody.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync(_hub.AdminToken, "/api/quality?check=speed")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync(_hub.AdminToken, "/api/quality?days=3")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(_hub.AdminToken, "/api/quality?run_id=run_nope")).Status);

        // Every call is in the audit log, refusals included.
        Assert.True(JobTestData.Count(Database, "SELECT count(*) FROM audit_log WHERE action = 'GET /api/quality'") >= 8);
    }

    [Fact]
    public async Task Cli_quality_run_prints_the_findings_and_exits_3_when_one_fails_and_show_filters_them()
    {
        await PlantProblemsAsync();
        var config = Path.Combine(AppContext.BaseDirectory, "config", "environments");

        var (code, stdout, stderr) = await AtalayaProcess.RunAsync("quality", "run", "--data", _hub.Server.DataDirectory, "--env", "prod", "--config", config);

        Assert.True(code == QualityCommand.Findings, $"exit {code}: {stdout}{stderr}");
        Assert.Contains("FAIL", stdout, StringComparison.Ordinal);
        Assert.Contains("order_amounts", stdout, StringComparison.Ordinal);
        var run = PipelineRuns.Query(Database, new RunFilter(Job: JobCatalog.QualityJob, Limit: 1)).Single();
        Assert.Equal("cli", run.Trigger);
        // The command loads the KPI engine, so the check that reads the order ledger sees the two
        // planted final statuses of unknown orders, as the server's own run does.
        var unknown = Find(Findings(run), "consistency", "unknown_orders");
        Assert.Contains("2 of", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(Find(Findings(RunChecks()), "consistency", "unknown_orders").Value, unknown.Value);

        (code, stdout, _) = await AtalayaProcess.RunAsync("quality", "show", "--data", _hub.Server.DataDirectory, "--status", "warn");
        Assert.Equal(0, code);
        Assert.Contains("coupon_redeemed", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", stdout, StringComparison.Ordinal);

        (code, _, stderr) = await AtalayaProcess.RunAsync("quality", "show", "--data", _hub.Server.DataDirectory, "--status", "red");
        Assert.Equal(2, code);
        Assert.Contains("--status", stderr, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string? token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await _hub.Server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone());
    }

    // ---- The reference: a plain count over the stored events, written from the measure definitions.

    private SortedDictionary<string, long> ReferenceProfile()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        void Add(JsonElement e, string measure)
        {
            var key = $"{Day(e):yyyy-MM-dd}|{e.GetProperty("source_system").GetString()}|{Type(e)}|{measure}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        foreach (var e in StoredEvents.All(_hub.Server.DataDirectory))
        {
            Add(e, "events");
            if (!HasText(e, "user_id") && !HasText(e, "anonymous_id"))
            {
                Add(e, "no_user");
            }
            if (!HasText(e, "session_id"))
            {
                Add(e, "no_session");
            }
            var properties = e.GetProperty("properties");
            if (HasText(properties, "store_id"))
            {
                Add(e, "store_ref");
                if (!HasText(e.GetProperty("context"), "country"))
                {
                    Add(e, "no_country");
                }
            }
            var flags = e.TryGetProperty("flags", out var f) ? f.EnumerateArray().Select(x => x.GetString()).ToList() : [];
            if (flags.Contains("fx_rate_missing"))
            {
                Add(e, "fx_missing");
            }
            if (flags.Contains("timestamp_clamped"))
            {
                Add(e, "clamped");
            }
            if (DoesNotAddUp(Type(e), properties))
            {
                Add(e, "inconsistent");
            }
        }
        return counts;
    }

    private static bool DoesNotAddUp(string type, JsonElement p)
    {
        if (type == "purchase_completed")
        {
            var lines = p.GetProperty("items").EnumerateArray().ToList();
            var sum = lines.Sum(i => i.GetProperty("price").GetDecimal() * i.GetProperty("quantity").GetDecimal());
            return Math.Abs(sum - p.GetProperty("subtotal").GetDecimal()) > 0.01m * lines.Count;
        }
        if (type == "order_status_changed" && p.TryGetProperty("snapshot", out var s))
        {
            var net = s.GetProperty("subtotal").GetDecimal() + s.GetProperty("delivery_fee").GetDecimal() - s.GetProperty("discount").GetDecimal();
            var total = s.GetProperty("total").GetDecimal();
            var taxIncluded = Math.Abs(net - total) <= 0.01m;
            var taxAdded = Math.Abs(net + s.GetProperty("tax").GetDecimal() - total) <= 0.01m;
            return !(taxIncluded || taxAdded) || s.GetProperty("commission_amount").GetDecimal() > total + 0.01m;
        }
        return false;
    }

    private SortedDictionary<string, long> ReferenceDrift()
    {
        var catalog = EventCatalog.Default;
        var seen = new SortedDictionary<string, long>(StringComparer.Ordinal);
        void See(string key) => seen[key] = seen.GetValueOrDefault(key) + 1;
        foreach (var e in StoredEvents.All(_hub.Server.DataDirectory))
        {
            if (!catalog.TryGet(Type(e), out var rule))
            {
                See(Type(e) + "|");
                continue;
            }
            foreach (var p in e.GetProperty("properties").EnumerateObject().Where(p => rule.Properties.All(r => r.Name != p.Name)))
            {
                See($"{Type(e)}|properties.{p.Name}");
            }
            if (e.TryGetProperty("extra", out var extra))
            {
                foreach (var p in extra.EnumerateObject())
                {
                    See($"{Type(e)}|{p.Name}");
                }
            }
        }
        return seen;
    }

    private SortedDictionary<string, long> StoredProfile() => Table("SELECT day || '|' || source_system || '|' || event_type || '|' || measure, count FROM dq_profile");

    private SortedDictionary<string, long> StoredDrift() => Table("SELECT event_type || '|' || field, events FROM dq_schema_seen");

    private SortedDictionary<string, long> Table(string sql)
    {
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows[reader.GetString(0)] = reader.GetInt64(1);
        }
        return rows;
    }

    private static string Type(JsonElement e) => e.GetProperty("event_type").GetString()!;

    private static DateOnly Day(JsonElement e) =>
        DateOnly.FromDateTime(DateTimeOffset.Parse(e.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture).UtcDateTime);

    private static bool HasText(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0;

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + shift;
    }
}
