using Atalaya.Engine.Alerts;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Config;
using Atalaya.Http;

namespace Atalaya.Alerts;

/// <summary>
/// The alert loop inside <c>serve</c>: once the hub is open, every <c>alerts.evaluate_every</c> it
/// evaluates the environment's rules and then delivers the outbox's pending messages (those of
/// this cycle and any a crash left behind). It runs on its own timer, apart from requests: a
/// channel that is down slows this loop only, never ingest or reads. The clock comes from
/// <see cref="ServeOptions.Time"/>, so tests move time instead of waiting. On a cluster node with
/// PostgreSQL, a cycle runs only while this node holds the <see cref="AlertEvaluatorLock"/>: one
/// node evaluates and notifies at a time, and another takes over when it dies. The alerts and the
/// outbox are then the cluster's, in PostgreSQL: the node that takes over continues the episodes it
/// finds firing and sends what is pending; a cycle that cannot reach PostgreSQL fails and the next
/// one tries again.
/// </summary>
public sealed class AlertService(HubState state, ServeOptions options, Metrics.HubMetrics metrics, ILogger<AlertService> logger) : BackgroundService
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly TaskCompletionSource<(AlertEngine Engine, NotificationDispatcher Dispatcher)> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The engine and dispatcher, once the hub has loaded.</summary>
    public Task<(AlertEngine Engine, NotificationDispatcher Dispatcher)> Ready => _ready.Task;

    /// <summary>Cycles completed so far (tests wait on it).</summary>
    public long Cycles => Interlocked.Read(ref _cycles);

    private long _cycles;

    /// <summary>Cycles in which this node evaluated the rules (on a cluster, only while it holds the evaluator lock).</summary>
    public long Evaluated => Interlocked.Read(ref _evaluated);

    private long _evaluated;

    private bool? _wasHolding;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = await state.OpenedAsync(stoppingToken);
        var section = options.Config.Alerts;
        var time = options.Time;
        var channels = NotificationChannels.Create(section, Http, time);
        var engine = new AlertEngine(hub.Database, hub.Kpis, AlertEngine.WithBuiltIns(AlertRuleSet.Compile(options.Config), channels.Keys), section.RenotifyInterval, time, hub.AlertRows, hub.Jobs.Runs);
        var dispatcher = new NotificationDispatcher(hub.AlertRows, channels, section, time);
        metrics.Dispatcher = dispatcher;
        _ready.SetResult((engine, dispatcher));
        logger.LogInformation("Alerts: {Rules} rules, {Channels} channels, evaluated every {Interval}",
            engine.Rules.Count, channels.Count, Durations.Format(section.EvaluateInterval));
        using var evaluator = options.Postgres is { } shared ? new AlertEvaluatorLock(shared) : null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var evaluating = evaluator is null || await HoldAsync(evaluator, stoppingToken);
                metrics.RecordAlertEvaluator(evaluating);
                if (evaluating)
                {
                    await CycleAsync(engine, dispatcher, stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The loop survives a bad cycle (a locked database, a full disk); the next one tries again.
                logger.LogError("Alert cycle failed: {Error}", e.Message);
            }
            Interlocked.Increment(ref _cycles);
            await Task.Delay(section.EvaluateInterval, time, stoppingToken);
        }
    }

    /// <summary>One cycle: evaluate every rule, then deliver the outbox's pending messages.</summary>
    private async Task CycleAsync(AlertEngine engine, NotificationDispatcher dispatcher, CancellationToken stoppingToken)
    {
        Interlocked.Increment(ref _evaluated);
        var report = await Task.Run(engine.Evaluate, stoppingToken);
        foreach (var problem in report.Problems)
        {
            logger.LogWarning("Alert rule not evaluated: {Problem}", problem);
        }
        if (report.Fired + report.Resolved > 0)
        {
            logger.LogInformation("Alerts: {Fired} fired, {Resolved} resolved, {Firing} firing", report.Fired, report.Resolved, report.Firing);
        }
        var delivery = await dispatcher.DeliverPendingAsync(stoppingToken);
        if (delivery.DeadLettered > 0)
        {
            logger.LogWarning("Notifications: {Dead} could not be delivered and were dead-lettered (see `atalaya notifications replay`)", delivery.DeadLettered);
        }
    }

    /// <summary>Whether this node is the cluster's evaluator for this cycle; logs the first answer and every change.</summary>
    private async Task<bool> HoldAsync(AlertEvaluatorLock evaluator, CancellationToken stoppingToken)
    {
        var holding = await Task.Run(evaluator.TryHold, stoppingToken);
        if (holding != _wasHolding)
        {
            _wasHolding = holding;
            logger.LogInformation(holding
                ? "Alerts: this node now evaluates the cluster's alert rules"
                : "Alerts: another node evaluates the cluster's alert rules (or PostgreSQL cannot be reached); this node waits");
        }
        return holding;
    }
}
