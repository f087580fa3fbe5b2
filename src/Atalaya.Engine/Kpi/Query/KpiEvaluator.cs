using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Runs one <see cref="KpiQuery"/> over the projection. Plan: build the period grid in the
/// query's time zone → compile filters and group keys → run only the passes the asked KPIs need
/// (an event scan of the range; a session scan; order history for customer KPIs; leads against
/// payments; store activity for churn; subscription charges for MRR) → derive each KPI from its
/// cell's partial sums. Non-additive KPIs are computed over each row's whole period from the
/// events themselves, never combined from smaller periods. The caller holds the projection's
/// read lock.
/// </summary>
internal sealed partial class KpiEvaluator
{
    private const int MaxCells = 2_000_000;

    private readonly KpiProjection _projection;
    private readonly KpiQuery _query;
    private readonly PeriodGrid _grid;
    private readonly ScopeMatcher _scope;
    private readonly List<Cell[]> _cells = [];
    private readonly List<bool> _inRange = [];
    private readonly HashSet<KpiId> _metrics;
    private readonly QueryScratch _scratch = new();

    public KpiEvaluator(KpiProjection projection, KpiQuery query, PeriodGrid? grid = null, bool useRollup = true)
    {
        UseRollup = useRollup;
        _projection = projection;
        _query = query;
        _grid = grid ?? PeriodGrid.Build(query.StartDate, query.EndDate, query.Aggregate, query.TimeZone);
        _scope = new ScopeMatcher(projection, query.Filters, query.GroupBy, query.Scope);
        _metrics = [.. query.Metrics];
    }

    public PeriodGrid Grid => _grid;

    /// <summary>False: every pass reads the events, even where the hour rollup could answer (tests compare the two).</summary>
    private bool UseRollup { get; }

    /// <summary>Answers the query, once: the scratch arrays go back to the pool when it is answered.</summary>
    public KpiResult Run()
    {
        try
        {
            return Evaluate();
        }
        finally
        {
            _scratch.Dispose();
            _scope.Dispose();
        }
    }

    private KpiResult Evaluate()
    {
        ScanEvents();
        if (Needs(KpiId.Sessions, KpiId.BounceRate, KpiId.AvgSessionDurationS, KpiId.ConversionRate,
            KpiId.AddToCartRate, KpiId.CartAbandonmentRate, KpiId.CheckoutCompletionRate))
        {
            ScanSessions();
        }
        if (Needs(KpiId.NewCustomers, KpiId.ReturningCustomers, KpiId.Ltv, KpiId.Customers, KpiId.RepeatCustomerRate))
        {
            EvaluateCustomers();
        }
        if (Needs(KpiId.ConversionPct))
        {
            EvaluateLeadConversion();
        }
        if (Needs(KpiId.StoreChurnRate))
        {
            EvaluateChurn(customers: false);
        }
        if (Needs(KpiId.CustomerChurnRate))
        {
            EvaluateChurn(customers: true);
        }
        if (Needs(KpiId.Mrr))
        {
            EvaluateMrr();
        }
        if (Needs(KpiId.StockAvailable, KpiId.SellThroughRate))
        {
            EvaluateStock();
        }
        return BuildResult();
    }

    private bool Needs(params KpiId[] any) => any.Any(_metrics.Contains);

    /// <summary>The cells of group <paramref name="group"/>, created on first use.</summary>
    private Cell[] CellsOf(int group)
    {
        while (_cells.Count <= group)
        {
            if ((long)(_cells.Count + 1) * _grid.Count > MaxCells)
            {
                throw new KpiQueryException(
                    $"the answer would have more than {MaxCells:N0} group × period cells; narrow the range, use a longer aggregate or fewer group_by dimensions");
            }
            _cells.Add(new Cell[_grid.Count]);
            _inRange.Add(false);
        }
        return _cells[group];
    }

    private KpiResult BuildResult()
    {
        var groups = Enumerable.Range(0, _cells.Count).Where(g => _inRange[g]).ToList();
        if (_scope.GroupBy.Count == 0 && groups.Count == 0)
        {
            CellsOf(0);
            groups.Add(0);
        }
        var names = groups.ToDictionary(g => g, g => _scope.GroupValues[g]
            .Select((id, k) => id == 0 ? null : _projection.ValueName(_scope.GroupBy[k], id)).ToArray());
        groups.Sort((a, b) => CompareGroups(names[a], names[b]));

        var metrics = _query.Metrics.Distinct().Order().ToList();
        var total = metrics.Count * groups.Count * _grid.Count;
        var rows = new List<KpiRow>(Math.Min(total, _query.Limit));
        foreach (var metric in metrics)
        {
            foreach (var g in groups)
            {
                var cells = _cells[g];
                for (var p = 0; p < _grid.Count && rows.Count < _query.Limit; p++)
                {
                    rows.Add(new KpiRow(_grid.Labels[p], metric, cells[p].Value(metric), names[g]));
                }
            }
        }
        return new KpiResult(rows, total,
            DateTimeOffset.FromUnixTimeMilliseconds(_grid.Start), DateTimeOffset.FromUnixTimeMilliseconds(_grid.End - 1000));
    }

    internal static int CompareGroups(string?[] a, string?[] b)
    {
        for (var k = 0; k < a.Length; k++)
        {
            var c = (a[k], b[k]) switch
            {
                (null, null) => 0,
                (null, _) => -1,
                (_, null) => 1,
                _ => string.CompareOrdinal(a[k], b[k]),
            };
            if (c != 0)
            {
                return c;
            }
        }
        return 0;
    }

    /// <summary>Chunks whose time range overlaps [from, to).</summary>
    private IEnumerable<EventChunk> ChunksIn(long from, long to) =>
        _projection.Chunks.Where(c => c.Count > 0 && c.MaxTs >= from && c.MinTs < to);
}

/// <summary>A question the engine cannot answer as asked (too large an answer, an unknown store): a 400 with the reason.</summary>
public sealed class KpiQueryException(string message) : Exception(message);
