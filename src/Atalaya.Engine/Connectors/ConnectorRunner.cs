using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;

namespace Atalaya.Engine.Connectors;

/// <summary>What to fetch: a provider, a range of UTC days, optionally only some apps.</summary>
public sealed record ConnectorRequest(string Provider, DateOnly From, DateOnly To, IReadOnlySet<string>? Apps = null);

/// <summary>A connector run's steps (one per unit), the class recorded for the run, and what was dead-lettered.</summary>
internal sealed record ConnectorOutcome(IReadOnlyList<StepOutcome> Steps, ErrorClass? ErrorClass, int DeadLettered);

/// <summary>
/// Runs a connector: splits the range into units (account × days), and for each unit fetches its
/// pages (kept in connector_pages as they arrive, before anything reads them), parses them, and
/// writes the unit's days into fact_kpi_daily in one transaction. A unit that fails writes
/// nothing: each of its days becomes a dead letter with the error's class, and the run records
/// the class that needs a person first. An auth failure stops the run (every later call would
/// fail the same way); a transient one lets the next units try (the breaker stops them cheaply
/// when the provider is down). A day with a value 10× its recent median is written and flagged.
/// </summary>
internal sealed class ConnectorRunner(IConnectorRows rows, MartStore marts, EnvironmentConfig config, KpiDictionary dictionary, TimeProvider time, HttpMessageHandler? handler = null)
{
    /// <summary>Days of history the spike check compares a value with.</summary>
    public const int SpikeHistoryDays = 7;

    public async Task<ConnectorOutcome> RunAsync(ConnectorRequest request, string runId, CancellationToken cancellationToken = default)
    {
        using var http = Http(request.Provider, out var settings);
        var client = Client(request.Provider, settings, http);
        var units = client.Units(request.From, request.To, request.Apps);
        if (units.Count == 0)
        {
            throw new ArgumentException($"connectors.{request.Provider} has no app matching --app {string.Join(",", request.Apps ?? new HashSet<string>())}; its apps: {string.Join(", ", settings.AppIds)}");
        }
        return await RunUnits(client, http, settings, units.Select(u => (u, (IReadOnlyList<RawPage>?)null)).ToList(), runId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reprocesses the open dead letters of a provider (or one of them): a schema failure whose
    /// pages were kept is parsed again from those pages, without fetching; the others are fetched
    /// again, one day each. A dead letter is resolved when its day is written.
    /// </summary>
    public async Task<ConnectorOutcome> ReplayAsync(string provider, long? id, string runId, CancellationToken cancellationToken = default)
    {
        using var http = Http(provider, out var settings);
        var client = Client(provider, settings, http);
        List<DeadLetter> letters = [.. rows.DeadLetters("connector", provider).Where(l => id is null || l.Id == id)];
        var work = new List<(FetchUnit, IReadOnlyList<RawPage>?)>();
        foreach (var letter in letters.Where(l => l.Day is not null).DistinctBy(l => (l.Account, l.Day)))
        {
            var day = letter.Day!.Value;
            if (client.Units(day, day, null).FirstOrDefault(u => u.Account == letter.Account) is not { } unit)
            {
                continue;
            }
            if (letter.ErrorClass == ErrorClasses.Name(ErrorClass.Schema) && letter.RunId is { } keptBy)
            {
                if (rows.Pages(keptBy, provider, letter.Account, day) is { Pages.Count: > 0 } kept)
                {
                    work.Add((unit with { From = kept.From, To = kept.To }, kept.Pages));
                    continue;
                }
            }
            work.Add((unit, null));
        }
        work = [.. work.DistinctBy(w => (w.Item1.Account, w.Item1.From, w.Item1.To, w.Item2 is null))];
        return work.Count == 0
            ? new ConnectorOutcome([new StepOutcome("replay", true, 0, null, null, null) { Note = $"no open dead letter for {provider}", Writes = false }], null, 0)
            : await RunUnits(client, http, settings, work, runId, cancellationToken, replayDays: letters.Where(l => l.Day is not null).Select(l => (l.Account, l.Day!.Value)).ToHashSet()).ConfigureAwait(false);
    }

    private async Task<ConnectorOutcome> RunUnits(ProviderClient client, ProviderHttp http, ProviderSettings settings,
        List<(FetchUnit Unit, IReadOnlyList<RawPage>? Kept)> work, string runId, CancellationToken cancellationToken,
        HashSet<(string Account, DateOnly Day)>? replayDays = null)
    {
        var steps = new List<StepOutcome>();
        var classes = new List<ErrorClass>();
        var deadLettered = 0;
        ConnectorException? stop = null;
        foreach (var (unit, kept) in work)
        {
            var name = $"{client.Provider} {unit.Account} {unit.From:yyyy-MM-dd}" + (unit.To != unit.From ? $"..{unit.To:yyyy-MM-dd}" : "");
            if (stop is not null)
            {
                deadLettered += DeadLetter(client.Provider, unit, runId, stop.ErrorClass, "not tried: " + stop.Message);
                steps.Add(new StepOutcome(name, false, 0, unit.From, unit.To, $"[{ErrorClasses.Name(stop.ErrorClass)}] not tried after: {stop.Message}"));
                continue;
            }
            var retriesBefore = http.RetryLog.Count;
            try
            {
                var pages = kept ?? await Fetch(client, unit, runId, cancellationToken).ConfigureAwait(false);
                var parsed = client.Parse(unit, pages);
                var days = replayDays is null ? unit.Days().ToList() : [.. unit.Days().Where(d => replayDays.Contains((unit.Account, d)))];
                var facts = parsed.Rows.Where(r => days.Contains(r.Day)).ToList();
                var written = Write(client.Provider, unit, days, facts, runId);
                var notes = new List<string>(parsed.Notes);
                notes.AddRange(http.RetryLog.Skip(retriesBefore));
                if (kept is not null)
                {
                    notes.Add($"reprocessed from the {kept.Count} kept page(s), not fetched");
                }
                notes.AddRange(days.Where(d => !facts.Any(r => r.Day == d)).Select(d => $"empty day {d:yyyy-MM-dd}: the provider reported no rows; nothing written"));
                notes.AddRange(Spikes(client.Provider, facts, settings.SpikeFactor));
                steps.Add(new StepOutcome(name, true, written, unit.From, unit.To, null) { Note = notes.Count == 0 ? null : string.Join("; ", notes.Distinct()) });
            }
            catch (ConnectorException e)
            {
                classes.Add(e.ErrorClass);
                deadLettered += DeadLetter(client.Provider, unit, runId, e.ErrorClass, e.Message);
                var retries = http.RetryLog.Skip(retriesBefore).ToList();
                steps.Add(new StepOutcome(name, false, 0, unit.From, unit.To, $"[{ErrorClasses.Name(e.ErrorClass)}] {e.Message}; {ErrorClasses.Recovery(e.ErrorClass)}")
                {
                    Note = retries.Count == 0 ? null : string.Join("; ", retries),
                });
                if (e.ErrorClass == ErrorClass.Auth)
                {
                    stop = e;
                }
            }
        }
        return new ConnectorOutcome(steps, classes.Count == 0 ? null : ErrorClasses.Worst(classes), deadLettered);
    }

    private async Task<IReadOnlyList<RawPage>> Fetch(ProviderClient client, FetchUnit unit, string runId, CancellationToken cancellationToken)
    {
        var pages = new List<RawPage>();
        await client.FetchAsync(unit, page =>
        {
            rows.KeepPage(runId, client.Provider, unit.Account, unit.From, unit.To, page, time.GetUtcNow());
            pages.Add(page);
        }, cancellationToken).ConfigureAwait(false);
        return pages;
    }

    /// <summary>
    /// The unit's days in one transaction where the marts are, which also resolves the open dead
    /// letters of those days: the dead letters live beside the marts (the data folder, or the
    /// cluster's PostgreSQL; <see cref="ConnectorRows.For(JobContext)"/>), so a day is never both
    /// written and still dead-lettered.
    /// </summary>
    private long Write(string provider, FetchUnit unit, IReadOnlyList<DateOnly> days, List<FactRow> facts, string runId) => marts.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        long written = 0;
        foreach (var day in days)
        {
            var dayRows = facts.Where(r => r.Day == day).ToList();
            if (dayRows.Count > 0)
            {
                written += ConnectorStore.WriteDay(marts, connection, transaction, provider, day, unit.Apps, dayRows, KpiVersion, runId);
            }
            ConnectorRow.ResolveDay(connection, transaction, provider, unit.Account, day, runId, time.GetUtcNow());
        }
        transaction.Commit();
        return written;
    });

    private int DeadLetter(string provider, FetchUnit unit, string runId, ErrorClass errorClass, string reason)
    {
        var open = rows.DeadLetters("connector", provider).Where(l => l.Account == unit.Account).Select(l => l.Day).ToHashSet();
        var added = 0;
        foreach (var day in unit.Days().Where(d => !open.Contains(d)))
        {
            rows.AddDeadLetter(new NewDeadLetter("connector", provider, unit.Account, day, runId, null, ErrorClasses.Name(errorClass), reason), time.GetUtcNow());
            added++;
        }
        return added;
    }

    /// <summary>Values at least <paramref name="factor"/> times the median of the metric's previous days (written, and flagged here).</summary>
    private IEnumerable<string> Spikes(string provider, List<FactRow> facts, double factor)
    {
        foreach (var row in facts)
        {
            var history = ConnectorStore.History(marts, provider, row.AppId, row.Metric, row.Day, SpikeHistoryDays);
            if (history.Count < 3)
            {
                continue;
            }
            history.Sort();
            var median = history.Count % 2 == 1 ? history[history.Count / 2] : (history[(history.Count / 2) - 1] + history[history.Count / 2]) / 2;
            if (median > 0 && row.Value >= factor * median)
            {
                yield return $"spike: {row.Metric} of {row.AppId} on {row.Day:yyyy-MM-dd} is {row.Value:0.##}, {row.Value / median:0.#}× the median of its previous {SpikeHistoryDays} days ({median:0.##}); written, check it at the provider";
            }
        }
    }

    private int KpiVersion(string metric) => dictionary.TryGet(metric, out var definition) ? definition.Version : 1;

    private ProviderHttp Http(string provider, out ProviderSettings settings)
    {
        settings = config.Connectors.Find(provider) ?? throw new ArgumentException(
            ConnectorSources.All.Contains(provider)
                ? $"{provider} is not configured in {config.Source}: add a connectors.{provider} section (docs/connectors.md)"
                : $"unknown connector '{provider}'; use one of {ConnectorSources.Names}");
        return new ProviderHttp(provider, settings, handler);
    }

    private static ProviderClient Client(string provider, ProviderSettings settings, ProviderHttp http) => settings switch
    {
        Ga4Settings ga4 => new Ga4Client(ga4, http),
        MetaAdsSettings meta => new MetaAdsClient(meta, http),
        AppStoreSettings appStore => new AppStoreClient(appStore, http),
        _ => throw new ArgumentException($"unknown connector '{provider}'"),
    };
}
