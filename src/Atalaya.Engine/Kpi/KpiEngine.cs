using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi.Analysis;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Kpi;

/// <summary>
/// The KPI engine: keeps the <see cref="KpiProjection"/> in step with the event log (loaded from
/// the stored blocks at start, then fed each commit before its callers are acknowledged, so an
/// event is in every figure as soon as its 2xx is sent — except while a snapshot is being written,
/// when commits are set aside and applied right after it) and answers KPI, summary, time-series and
/// analysis questions over it. Raw events stay the source of truth: the projection is rebuilt from
/// them and never written back.
/// </summary>
public sealed class KpiEngine
{
    private readonly TimeProvider _time;

    public KpiEngine(KpiDictionary dictionary, TimeProvider? time = null)
    {
        Dictionary = dictionary;
        _time = time ?? TimeProvider.System;
    }

    public KpiDictionary Dictionary { get; }

    /// <summary>
    /// Whether queries may add up the hour rollup where their periods allow (the default). False
    /// makes every query read the events; the answers are the same, which the tests check.
    /// </summary>
    public bool RollupEnabled { get; set; } = true;

    public KpiProjection Projection { get; private set; } = new();

    /// <summary>The sequence number the last snapshot read or written reflects.</summary>
    public long SnapshotSeq { get; private set; }

    /// <summary>Events read from the stored blocks at start-up because the snapshot did not cover them (all of them without one).</summary>
    public long ReplayedEvents { get; private set; }

    /// <summary>How long <see cref="Load"/> took to read the snapshot and to replay the events after it (for the start-up log).</summary>
    public (TimeSpan Snapshot, TimeSpan Replay) LoadTimes { get; private set; }

    /// <summary>Why a snapshot on disk was not used at start-up, if it was not.</summary>
    public string? SnapshotProblem { get; private set; }

    private static long MaxStoredSeq(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(first_seq + event_count - 1), 0) FROM event_blocks;";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Writes the projection to <paramref name="path"/> atomically (a temporary file, flushed, then
    /// renamed). It holds the read lock while writing (about a second at 10M events); commits that
    /// arrive meanwhile are copied aside and applied right after it, so neither the writer nor, through
    /// the lock's writer preference, the readers wait for the disk.
    /// </summary>
    public void SaveSnapshot(string path)
    {
        // The periodic saver, the kpi_refresh job and an erasure may ask at once; they share one temporary file.
        _snapshotGate.Wait();
        try
        {
            SaveSnapshotLocked(path);
        }
        finally
        {
            _snapshotGate.Release();
        }
    }

    private readonly SemaphoreSlim _snapshotGate = new(1, 1);

    // Held while a commit is applied or set aside, so a snapshot starts between two commits.
    private readonly Lock _applyGate = new();

    // Non-null while a snapshot is written or the commits set aside meanwhile are being applied.
    private DeferredCommits? _deferred;

    private void SaveSnapshotLocked(string path)
    {
        lock (_applyGate)
        {
            _deferred ??= new DeferredCommits();
        }
        try
        {
            WriteSnapshot(path);
        }
        finally
        {
            ApplyDeferred();
        }
    }

    /// <summary>Applies the commits set aside during a snapshot, a request batch per write lock (as commits are applied), until none is left.</summary>
    private void ApplyDeferred()
    {
        while (true)
        {
            DeferredCommits deferred;
            lock (_applyGate)
            {
                if (_deferred is not { Count: > 0 })
                {
                    _deferred?.Dispose();
                    _deferred = null;
                    return;
                }
                deferred = _deferred;
                // Commits arriving while these are applied go to a fresh list, behind them.
                _deferred = new DeferredCommits();
            }
            using (deferred)
            {
                for (var batch = 0; batch < deferred.Batches; batch++)
                {
                    using (Projection.Write())
                    {
                        deferred.ApplyBatch(Projection, batch);
                    }
                    Projection.Published();
                }
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> while no snapshot is being written, so every committed event is in
    /// the projection (none set aside); it is handed a save that writes the snapshot inside that
    /// window. The erasure re-keys ids and saves this way: an event set aside with the old ids would
    /// otherwise be applied after the re-keying and bring them back.
    /// </summary>
    public async Task WithoutSnapshotsAsync(Func<Action<string>, Task> work)
    {
        await _snapshotGate.WaitAsync().ConfigureAwait(false);
        try
        {
            await work(SaveSnapshotLocked).ConfigureAwait(false);
        }
        finally
        {
            _snapshotGate.Release();
        }
    }

    /// <summary>Tests only: called while a snapshot holds the read lock, to keep it there.</summary>
    internal Action? WhileSnapshotHeld { get; set; }

    private void WriteSnapshot(string path)
    {
        var temporary = path + ".tmp";
        long seq;
        try
        {
            using (var file = Storage.PrivateFiles.Create(temporary, 1 << 20))
            {
                using (Projection.Read())
                {
                    Projection.Save(file);
                    seq = Projection.LastSeq;
                    WhileSnapshotHeld?.Invoke();
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (IOException)
        {
            // A full disk: a half-written temporary file would hold on to the space that is missing.
            File.Delete(temporary);
            throw;
        }
        SnapshotSeq = seq;
    }

    public TimeProvider Time => _time;

    /// <summary>
    /// Start-up: reads the snapshot when there is a usable one, then every block stored after it
    /// (all of them without a snapshot).
    /// </summary>
    /// <param name="progress">Told (events loaded, events to load) after each block, for progress bars.</param>
    /// <param name="beforeReplay">Called with the projection after the snapshot is read and before the blocks after it are applied (an interrupted erasure re-keys its ids there).</param>
    public void Load(SqliteConnection connection, string? snapshotPath = null, Action<long, long>? progress = null, Action<KpiProjection>? beforeReplay = null)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (snapshotPath is not null && File.Exists(snapshotPath))
        {
            try
            {
                using var file = new FileStream(snapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                var candidate = new KpiProjection();
                candidate.Load(file, () => new FileStream(snapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20));
                if (candidate.LastSeq <= MaxStoredSeq(connection))
                {
                    Projection = candidate;
                    SnapshotSeq = candidate.LastSeq;
                }
                else
                {
                    SnapshotProblem = "the snapshot is ahead of the event log (restored from an older backup?); rebuilt from raw events";
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
            {
                SnapshotProblem = $"the snapshot could not be read ({e.Message}); rebuilt from raw events";
            }
        }
        var snapshotRead = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        using var write = Projection.Write();
        beforeReplay?.Invoke(Projection);
        var total = progress is null ? 0 : StoredBlocks.CountAfter(connection, Projection.LastSeq);
        var loaded = Projection.ApplyBlocks(ReadAhead(StoredBlocks.After(connection, Projection.LastSeq, pooled: true)),
            progress is null ? null : applied => progress(applied, total));
        ReplayedEvents = loaded;
        LoadTimes = (snapshotRead, System.Diagnostics.Stopwatch.GetElapsedTime(started) - snapshotRead);
        Projection.Published();
    }

    /// <summary>
    /// The blocks in order, read from SQLite and decompressed on another thread a few blocks ahead
    /// of the caller: at start-up the replay after the snapshot then overlaps reading and
    /// decompressing with applying (which reads the events on one more thread and adds them on the
    /// caller's, in order: <see cref="KpiProjection.ApplyBlocks"/>).
    /// </summary>
    private static IEnumerable<StoredBlock> ReadAhead(IEnumerable<StoredBlock> blocks)
    {
        using var queue = new System.Collections.Concurrent.BlockingCollection<StoredBlock>(boundedCapacity: 4);
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            try
            {
                foreach (var block in blocks)
                {
                    queue.Add(block, stop.Token);
                }
            }
            finally
            {
                queue.CompleteAdding();
            }
        });
        try
        {
            foreach (var block in queue.GetConsumingEnumerable())
            {
                yield return block;
            }
        }
        finally
        {
            // The caller stopped early (an exception while applying): let the reader finish.
            stop.Cancel();
            try
            {
                reader.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                // Only when the caller stopped early; a read or decode failure surfaces here, as
                // it did when the blocks were read inline.
            }
        }
    }

    /// <summary>
    /// Applies stored events that did not come through this hub's log (a cluster node's events,
    /// read from ClickHouse or the written-events feed): each of <paramref name="events"/> is one
    /// stored event's JSON in <paramref name="buffer"/>, applied in order under one write lock after
    /// the last sequence number. Ranges rather than a JSON array: finding each object's end in an
    /// array reads every event twice.
    /// </summary>
    public void ApplyStored(ReadOnlySpan<byte> buffer, IReadOnlyList<Range> events)
    {
        lock (_applyGate)
        {
            using (Projection.Write())
            {
                var seq = Projection.LastSeq + 1;
                foreach (var range in events)
                {
                    Projection.Apply(buffer[range], seq++);
                }
            }
            Projection.Published();
        }
    }

    /// <summary>
    /// Starts the projection again from empty, for a cluster node whose load from ClickHouse broke
    /// off half-way and is retried. Only while nothing reads the projection: a cluster node answers
    /// no KPI question until its load is complete.
    /// </summary>
    internal void ResetForReload()
    {
        lock (_applyGate)
        {
            Projection = new KpiProjection();
        }
    }

    /// <summary>Events of a commit applied under one write lock (see <see cref="OnCommitted"/>).</summary>
    internal const int ApplySlice = 1_000;

    /// <summary>Feeds each commit of <paramref name="log"/> into the projection from now on.</summary>
    public void Follow(EventLog log) => log.Committed = OnCommitted;

    private void OnCommitted(IReadOnlyList<CommittedBatch> batches)
    {
        lock (_applyGate)
        {
            if (_deferred is { } deferred)
            {
                deferred.Add(batches);
                return;
            }
            // One write lock per slice of a request's batch, not per group commit: a reader waits
            // for at most one slice (about a millisecond) rather than for a 5,000-event request or
            // every batch the commit gathered. Each event is applied whole, so a reader between two
            // slices sees the request as if it had come in two.
            foreach (var committed in batches)
            {
                var seq = committed.FirstSeq;
                var batch = committed.Batch;
                var events = batch.Events;
                var facts = batch.Facts;
                for (var start = 0; start < events.Length; start += ApplySlice)
                {
                    using (Projection.Write())
                    {
                        var end = Math.Min(events.Length, start + ApplySlice);
                        for (var i = start; i < end; i++)
                        {
                            if (committed.Kept[i])
                            {
                                ref readonly var f = ref facts[i];
                                Projection.Apply(batch.Json(events[i]), f, batch.Items.Slice(f.FirstItem, f.ItemCount), batch.SourceSystem, seq++);
                            }
                        }
                    }
                }
                Projection.Published();
            }
        }
    }

    public DateOnly Today(TimeZoneInfo tz) => PeriodGrid.Today(_time, tz);

    public KpiResult Query(KpiQuery query)
    {
        using var read = Projection.Read();
        return KpiFamilies.Run(Projection, query, RollupEnabled);
    }

    /// <summary>Today so far, yesterday and the 7 whole days before today, per KPI.</summary>
    public IReadOnlyList<SummaryRow> Summary(IReadOnlyList<KpiId> metrics, DimensionFilter filter, TimeZoneInfo tz, AccessScope scope)
    {
        var today = Today(tz);
        var query = new KpiQuery(metrics, today.AddDays(-7), today, Aggregate.Daily, tz, filter, [], scope, int.MaxValue);
        var rows = Query(query).Rows;
        var result = new List<SummaryRow>();
        foreach (var metric in metrics.Distinct().Order())
        {
            var days = rows.Where(r => r.Metric == metric).Select(r => r.Value).ToList();
            var before = days.Take(7).Where(v => v is not null).Select(v => v!.Value).ToList();
            double? avg = before.Count == 0 ? null : before.Average();
            var todayValue = days[7];
            var yesterday = days[6];
            result.Add(new SummaryRow(metric, todayValue, yesterday, avg, Change(todayValue, yesterday), Change(todayValue, avg)));
        }
        return result;
    }

    /// <summary>
    /// Like for like: today until now against yesterday until the same local time of day, and
    /// against the mean of the seven days before today, each until that time. At 11:00 a partial
    /// today is never set against whole days (which made every card read as a fall).
    /// </summary>
    public IReadOnlyList<SummaryRow> SummaryUntilNow(IReadOnlyList<KpiId> metrics, DimensionFilter filter, TimeZoneInfo tz, AccessScope scope)
    {
        var now = _time.GetUtcNow();
        var today = Today(tz);
        var timeOfDay = TimeZoneInfo.ConvertTime(now, tz).TimeOfDay;
        // Day d counts [its midnight, its same local time): at 11:00 sharp, exactly the hours 00–10 of each day.
        var windows = Enumerable.Range(0, 8).Select(i =>
        {
            var day = today.AddDays(i - 7);
            var start = PeriodGrid.LocalMidnight(day, tz);
            var end = i == 7 ? now.ToUnixTimeMilliseconds() : LocalInstant(day, timeOfDay, tz);
            return (start, Math.Max(end, start + 1));
        }).ToList();
        var query = new KpiQuery(metrics, today.AddDays(-7), today, Aggregate.Daily, tz, filter, [], scope, int.MaxValue);
        KpiResult result;
        using (var read = Projection.Read())
        {
            result = new KpiEvaluator(Projection, query, PeriodGrid.Windows(windows, tz), RollupEnabled).Run();
        }
        var rows = new List<SummaryRow>();
        foreach (var metric in metrics.Distinct().Order())
        {
            var days = new double?[8];
            foreach (var row in result.Rows)
            {
                if (row.Metric == metric && int.TryParse(row.Period, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < days.Length)
                {
                    days[i] = row.Value;
                }
            }
            var before = days.Take(7).Where(v => v is not null).Select(v => v!.Value).ToList();
            double? avg = before.Count == 0 ? null : before.Average();
            rows.Add(new SummaryRow(metric, days[7], days[6], avg, Change(days[7], days[6]), Change(days[7], avg)));
        }
        return rows;
    }

    /// <summary>A local date and time of day in UTC ms; a time skipped by a DST jump moves to the first valid minute after it.</summary>
    private static long LocalInstant(DateOnly date, TimeSpan timeOfDay, TimeZoneInfo tz)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified).Add(timeOfDay);
        while (tz.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }
        var offset = tz.IsAmbiguousTime(local) ? tz.GetAmbiguousTimeOffsets(local).Max() : tz.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUnixTimeMilliseconds();
    }

    private static double? Change(double? value, double? baseline) =>
        value is null || baseline is null || baseline == 0 ? null : 100.0 * (value.Value - baseline.Value) / baseline.Value;

    /// <summary>The last <paramref name="hours"/> hours (the current one last) of one KPI.</summary>
    public KpiResult Timeseries(KpiId metric, int hours, DimensionFilter filter, TimeZoneInfo tz, AccessScope scope)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var currentHour = now - (now % 3_600_000);
        var grid = PeriodGrid.HourRange(currentHour - (hours - 1) * 3_600_000L, hours, tz);
        var query = new KpiQuery([metric], Today(tz), Today(tz), Aggregate.Hourly, tz, filter, [], scope, int.MaxValue);
        using var read = Projection.Read();
        return new KpiEvaluator(Projection, query, grid, RollupEnabled).Run();
    }

    /// <summary>One KPI over each of some windows [start, end) in UTC ms (ascending, not overlapping); the alert rules use it.</summary>
    public IReadOnlyList<double?> Windows(KpiId metric, IReadOnlyList<(long Start, long End)> windows, DimensionFilter filter, AccessScope scope)
    {
        var grid = PeriodGrid.Windows(windows, TimeZoneInfo.Utc);
        var today = Today(TimeZoneInfo.Utc);
        var query = new KpiQuery([metric], today, today, Aggregate.Hourly, TimeZoneInfo.Utc, filter, [], scope, int.MaxValue);
        KpiResult result;
        using (var read = Projection.Read())
        {
            result = new KpiEvaluator(Projection, query, grid, RollupEnabled).Run();
        }
        var values = new double?[windows.Count];
        foreach (var row in result.Rows)
        {
            if (row.Metric == metric && int.TryParse(row.Period, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < values.Length)
            {
                values[i] = row.Value;
            }
        }
        return values;
    }

    /// <summary>The country of a store (from its latest store_created), or null for a store never registered.</summary>
    public string? CountryOfStore(string storeId)
    {
        using var read = Projection.Read();
        return Projection.StoreRowOf(storeId) is { } row ? Projection.Pools.Dimension[row.Country] : null;
    }

    /// <summary>
    /// <paramref name="storeId"/>'s <paramref name="metric"/> over the range beside the quartiles of
    /// the other stores with its category and country, when at least <paramref name="minimumPeers"/>
    /// of them have data in the range. The store must be inside <paramref name="scope"/>; the peers'
    /// individual figures never leave this method.
    /// </summary>
    public PeerBenchmark Benchmark(KpiId metric, string storeId, DateOnly start, DateOnly end, TimeZoneInfo tz, AccessScope scope, int minimumPeers)
    {
        ScopeMatcher.CheckWithin(new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.StoreId] = [storeId] }), scope);
        using var read = Projection.Read();
        var row = Projection.StoreRowOf(storeId)
            ?? throw new KpiQueryException($"store_id '{storeId}' has no store_created event: its category and country are unknown");
        // A lead's scope names places, not stores: the store's own country, hub and zone must be inside it.
        foreach (var (dimension, value) in new[] { (Dimension.Country, row.Country), (Dimension.Hub, row.Hub), (Dimension.Zone, row.Zone) })
        {
            var place = Projection.Pools.Dimension[value] ?? "";
            if (scope.Allowed(dimension) is { } allowed && !allowed.Contains(place, StringComparer.Ordinal))
            {
                throw new ScopeViolationException(
                    $"store_id '{storeId}' is outside this token's scope: its {Dimensions.Name(dimension)} '{place}' is not one of {string.Join(", ", allowed)}");
            }
        }
        var peers = Projection.StoresWith(row.Country, row.Category).Where(id => id != storeId).ToList();
        var query = new KpiQuery([metric], start, end, Aggregate.Daily, tz,
            new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.StoreId] = [storeId, .. peers] }),
            [Dimension.StoreId], AccessScope.Everything, int.MaxValue);
        var grid = PeriodGrid.Single(start, end, tz);
        var values = new KpiEvaluator(Projection, query, grid, RollupEnabled).Run().Rows
            .ToDictionary(r => r.Group[0] ?? "", r => r.Value);
        var own = values.GetValueOrDefault(storeId);
        var contributing = peers.Select(p => values.GetValueOrDefault(p)).Where(v => v is not null).Select(v => v!.Value).Order().ToList();
        var country = Projection.Pools.Dimension[row.Country];
        var category = Projection.Pools.Dimension[row.Category];
        return contributing.Count < minimumPeers
            ? new PeerBenchmark(storeId, country, category, own, contributing.Count, minimumPeers, null, null, null)
            : new PeerBenchmark(storeId, country, category, own, contributing.Count, minimumPeers,
                PeerBenchmark.Quantile(contributing, 0.25), PeerBenchmark.Quantile(contributing, 0.5), PeerBenchmark.Quantile(contributing, 0.75));
    }

    public IReadOnlyList<FunnelStep> Funnel(IReadOnlyList<string> steps, TimeSpan window, DateOnly start, DateOnly end, TimeZoneInfo tz, DimensionFilter filter, AccessScope scope)
    {
        using var read = Projection.Read();
        return FunnelAnalysis.Run(Projection, steps, (long)window.TotalMilliseconds,
            PeriodGrid.LocalMidnight(start, tz), PeriodGrid.LocalMidnight(end.AddDays(1), tz), filter, scope);
    }

    /// <summary>Retention cohorts; a null range means all history.</summary>
    /// <param name="deliveredOnly">Only orders whose latest final status now is ENTREGADO (<c>orders=delivered</c>).</param>
    public IReadOnlyList<RetentionCell> Retention(bool weekly, DateOnly? start, DateOnly? end, TimeZoneInfo tz, DimensionFilter filter, AccessScope scope,
        bool deliveredOnly = false)
    {
        using var read = Projection.Read();
        return RetentionAnalysis.Run(Projection, weekly,
            start is { } s ? PeriodGrid.LocalMidnight(s, tz) : long.MinValue,
            end is { } e ? PeriodGrid.LocalMidnight(e.AddDays(1), tz) : long.MaxValue, tz, filter, scope, deliveredOnly);
    }

    /// <param name="deliveredOnly">Only orders whose latest final status now is ENTREGADO (<c>orders=delivered</c>).</param>
    public IReadOnlyList<ProductFigures> TopProducts(ProductOrder orderBy, int limit, DateOnly start, DateOnly end, TimeZoneInfo tz, DimensionFilter filter, AccessScope scope,
        bool deliveredOnly = false)
    {
        using var read = Projection.Read();
        return TopProductsAnalysis.Run(Projection, orderBy, limit,
            PeriodGrid.LocalMidnight(start, tz), PeriodGrid.LocalMidnight(end.AddDays(1), tz), filter, scope, deliveredOnly: deliveredOnly);
    }

    /// <summary>Every product's figures per UTC day of the range, products only added to carts included (the product_metrics mart).</summary>
    public IReadOnlyList<(DateOnly Day, ProductFigures Figures)> ProductsByDay(DateOnly start, DateOnly end, DimensionFilter filter)
    {
        var rows = new List<(DateOnly, ProductFigures)>();
        using var read = Projection.Read();
        for (var day = start; day <= end; day = day.AddDays(1))
        {
            foreach (var figures in TopProductsAnalysis.Run(Projection, ProductOrder.Revenue, int.MaxValue,
                PeriodGrid.LocalMidnight(day, TimeZoneInfo.Utc), PeriodGrid.LocalMidnight(day.AddDays(1), TimeZoneInfo.Utc), filter, AccessScope.Everything,
                withCartOnly: true))
            {
                rows.Add((day, figures));
            }
        }
        return rows;
    }

    /// <summary>How many stored events (custom ones included) have a timestamp in [<paramref name="fromMs"/>, <paramref name="toMs"/>).</summary>
    /// <summary>Final status events timed in [from, to), and those of orders the hub has no purchase_completed for (the consistency check).</summary>
    public (long Statuses, long UnknownOrders) FinalStatusesOfUnknownOrders(long fromMs, long toMs)
    {
        using (Projection.Read())
        {
            return Projection.FinalStatusesOfUnknownOrders(fromMs, toMs);
        }
    }

    public long CountEvents(long fromMs, long toMs)
    {
        using var read = Projection.Read();
        long count = 0;
        foreach (var chunk in Projection.Chunks)
        {
            if (chunk.Count == 0 || chunk.MaxTs < fromMs || chunk.MinTs >= toMs)
            {
                continue;
            }
            var ts = chunk.Ts.AsSpan(0, chunk.Count);
            foreach (var t in ts)
            {
                count += t >= fromMs && t < toMs ? 1 : 0;
            }
        }
        return count;
    }
}
