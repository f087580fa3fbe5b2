// The three views (admin, country operations lead, vendor) as lists of panels. Every figure
// comes from the public metrics API with the reader's token; the scope is the server's business,
// the view only chooses what to ask for. Each panel shows loading, empty, error or "not
// available" on its own, so one failing call never blanks the page.
import { api, ApiError } from './api.js';
import { el } from './dom.js';
import { formatValue, formatChange, formatInteger, formatDateTime, formatDate } from './format.js';
import { rangeParams, chartAggregate, addDays, daysBetween } from './filters.js';
import { lineChart, barChart, funnelChart, cohortHeatmap } from './charts.js';
import { sortableTable } from './table.js';
import { healthBadge } from './health.js';

export const DIMENSION_LABELS = {
  country: 'Country', hub: 'Hub', zone: 'Zone', source: 'Source', platform: 'Platform', category: 'Category', store_id: 'Store',
};

// Net GMV, refunds and cancellations sit beside GMV: the order ledger's view of the same money.
const PLATFORM_CARDS = ['gmv', 'net_gmv', 'refunds', 'cancelled_orders', 'orders', 'aov', 'commissions', 'revenue', 'payments_success_rate', 'active_stores', 'active_users',
  'new_stores', 'new_users', 'store_churn_rate', 'mrr', 'leads', 'conversion_pct'];
// Session KPIs (bounce, time on site, conversion, cart) count the sessions that start in the
// store: the KPI dictionary (docs/kpis.md) gives a session the dimensions of its first event.
const VENDOR_CARDS = ['gmv', 'net_gmv', 'refunds', 'cancelled_orders', 'orders', 'aov', 'units_sold', 'new_customers', 'returning_customers', 'visitors', 'store_visits',
  'pageviews', 'bounce_rate', 'avg_session_duration_s', 'conversion_rate', 'cart_abandonment_rate', 'checkout_completion_rate'];
/** KPIs where a fall is good news. */
const LOWER_IS_BETTER = new Set(['bounce_rate', 'store_churn_rate', 'cart_abandonment_rate', 'refunds', 'cancelled_orders', 'cancelled_gmv', 'customer_churn_rate']);
const FUNNEL = ['store_visited', 'product_viewed', 'add_to_cart', 'checkout_started', 'purchase_completed'];
const FUNNEL_NAMES = { store_visited: 'Store visit', product_viewed: 'Product view', add_to_cart: 'Add to cart', checkout_started: 'Checkout', purchase_completed: 'Purchase' };

export function viewFor(me) {
  switch (me.role) {
    case 'admin':
    case 'analyst':
      return {
        title: 'Platform overview', cards: PLATFORM_CARDS, dimensions: ['country', 'source', 'platform', 'category'],
        panels: [alerts(), trend(), breakdown('country'), breakdown('source'), marketing(), newStoresAndUsers(), runs(), quality()],
      };
    case 'country_ops_lead': {
      const several = me.countries.length > 1;
      return {
        title: 'Country operations · ' + me.countries.join(', ') + (me.hubs.length ? ' · ' + me.hubs.join(', ') : '') + (me.zones.length ? ' · ' + me.zones.join(', ') : ''),
        cards: PLATFORM_CARDS,
        dimensions: [...(several ? ['country'] : []), 'hub', 'zone', 'source', 'platform', 'category'],
        panels: [alerts(), trend(), ...(several ? [breakdown('country')] : []), breakdown('hub'), breakdown('zone'), breakdown('source'), newStoresAndUsers()],
      };
    }
    case 'vendor':
      return {
        title: 'Store · ' + me.stores.join(', '), cards: VENDOR_CARDS,
        dimensions: [...(me.stores.length > 1 ? ['store_id'] : []), 'source', 'platform'],
        panels: [trend(), customers(), traffic(), breakdown('category', ['gmv', 'orders', 'aov']), topProducts('revenue'), topProducts('views'),
          funnel(), retention(), benchmark(), boughtTogether()],
      };
    default:
      throw new Error('No dashboard for the role ' + me.role + '.');
  }
}

// ---- KPI cards ------------------------------------------------------------------------------

/** The cards: each KPI over the chosen range, its change against the period of the same length before, and today so far (live). */
export class Cards {
  constructor(node, metrics, defs) {
    this.node = node;
    this.metrics = metrics;
    this.defs = defs;
    this.previous = new Map();
    this.today = new Map();
  }

  async load(filters, signal) {
    this.node.setAttribute('aria-busy', 'true');
    this.node.dataset.state = 'loading';
    if (!this.node.childElementCount) this.node.replaceChildren(el('p', { class: 'muted' }, 'Loading figures…'));
    try {
      const current = await this.fetch(rangeParams(filters), signal);
      const { start_date: start, end_date: end } = current.params;
      const days = daysBetween(start, end) + 1;
      const previous = await this.fetch({ ...filters.dims, tz: filters.tz ?? undefined, start_date: addDays(start, -days), end_date: addDays(start, -1) }, signal);
      this.previous = values(previous);
      this.quality = current.quality;
      this.render(values(current), start === end ? formatDate(start) : `${formatDate(start)} – ${formatDate(end)}`);
      this.node.dataset.state = 'ready';
    } catch (e) {
      if (e.name === 'AbortError') return;
      this.node.dataset.state = 'error';
      this.node.replaceChildren(errorBox(e, () => this.load(filters, signal)));
    } finally {
      this.node.setAttribute('aria-busy', 'false');
    }
  }

  /** Only the current range again (after a live update); the previous period does not change. */
  async refresh(filters, signal) {
    try {
      const current = await this.fetch(rangeParams(filters), signal);
      this.quality = current.quality;
      this.render(values(current), this.range);
      this.node.dataset.refreshed = String(Date.now());
    } catch {
      // The next update or the next filter change tries again; the figures shown stay.
    }
  }

  fetch(params, signal) {
    return api('/api/kpi/query', { metric: this.metrics.join(','), aggregate: 'total', ...params }, { signal });
  }

  applySummary(summary) {
    for (const row of summary.data ?? []) this.today.set(row.metric, row.today);
    for (const card of this.node.querySelectorAll('[data-metric]')) {
      const today = card.querySelector('.today');
      if (today) today.textContent = 'Today: ' + formatValue(this.today.get(card.dataset.metric), this.defs[card.dataset.metric]?.unit);
    }
  }

  render(current, range) {
    this.range = range;
    const cards = this.metrics.map(metric => {
      const def = this.defs[metric] ?? { name: metric, unit: 'count' };
      const value = current.get(metric) ?? null;
      const before = this.previous.get(metric) ?? null;
      const change = value !== null && before ? (value - before) / Math.abs(before) * 100 : null;
      const good = change === null || change === 0 ? '' : (change > 0) !== LOWER_IS_BETTER.has(metric) ? 'good' : 'bad';
      return el('article', { class: 'card', 'data-metric': metric, 'data-value': value ?? '' }, [
        el('h3', { title: definitionText(def) }, def.name),
        el('p', { class: 'value' }, formatValue(value, def.unit)),
        el('p', { class: 'change ' + good, 'data-change': change ?? '' },
          value === null ? 'no data in this range' : change === null ? 'no previous figure' : [el('span', { 'aria-hidden': 'true' }, change > 0 ? '▲ ' : change < 0 ? '▼ ' : ''), formatChange(change), ' vs previous period']),
        el('p', { class: 'today' }, 'Today: ' + formatValue(this.today.get(metric), def.unit)),
        healthBadge(this.quality, [metric]),
      ].filter(Boolean));
    });
    this.node.replaceChildren(el('p', { class: 'range muted' }, range), el('div', { class: 'cards' }, cards));
  }
}

/** A card's hover text: what the KPI means, then its exact definition and version (from /api/kpi/definitions). */
function definitionText(def) {
  return [def.description, def.definition && `${def.definition}${def.version ? ` (v${def.version})` : ''}`].filter(Boolean).join('\n');
}

function values(answer) {
  return new Map(answer.data.map(r => [r.metric, r.value]));
}

// ---- Panels ---------------------------------------------------------------------------------

/**
 * Draws one panel: a heading, then loading → content, "no data", "not available" (404 from an
 * endpoint that may not exist on this hub yet) or an error with a retry button.
 */
export async function drawPanel(container, panel, ctx, replacing = null) {
  const body = el('div', { class: 'panel-body' }, el('p', { class: 'muted' }, 'Loading…'));
  const section = el('section', { class: 'panel' + (panel.wide ? ' wide' : ''), id: 'panel-' + panel.id, 'data-panel': panel.id, 'data-state': 'loading', 'aria-busy': 'true', 'aria-labelledby': 'h-' + panel.id },
    [el('h2', { id: 'h-' + panel.id }, panel.title), body]);
  if (replacing) replacing.replaceWith(section);
  else container.append(section);
  const done = state => {
    section.dataset.state = state;
    section.setAttribute('aria-busy', 'false');
  };
  try {
    const data = await panel.load(ctx);
    if (panel.isEmpty?.(data)) {
      body.replaceChildren(el('p', { class: 'empty' }, panel.emptyText ?? 'No data for these filters.'));
      done('empty');
      return;
    }
    body.replaceChildren();
    // A panel drawn from one KPI answer says the health of its figures beside its title.
    const badge = healthBadge(data?.quality);
    if (badge) section.querySelector('h2').append(' ', badge);
    panel.render(body, data, ctx);
    done('ready');
  } catch (e) {
    if (e.name === 'AbortError') return;
    if (e instanceof ApiError && (e.status === 404 || (e.status === 403 && panel.optional))) {
      body.replaceChildren(el('p', { class: 'unavailable' }, panel.unavailableText ?? 'Not available on this hub.'));
      done('unavailable');
      return;
    }
    body.replaceChildren(errorBox(e, () => drawPanel(container, panel, ctx, section)));
    done('error');
  }
}

function errorBox(e, retry) {
  return el('div', { class: 'error', role: 'alert' }, [
    el('p', {}, 'Could not load this: ' + (e.message || 'unknown error')),
    el('button', { type: 'button', onclick: retry }, 'Retry'),
  ]);
}

function chartNode(label, tall = false) {
  return el('div', { class: 'chart' + (tall ? ' tall' : ''), role: 'img', 'aria-label': label });
}

const allZero = rows => rows.every(r => !r.value);

/** Rows of /api/kpi/query as { periods, byMetric: Map(metric → values aligned with periods) }. */
function pivotPeriods(answer, metrics) {
  const periods = [...new Set(answer.data.map(r => r.period))].sort();
  const index = new Map(periods.map((p, i) => [p, i]));
  const byMetric = new Map(metrics.map(m => [m, new Array(periods.length).fill(0)]));
  for (const r of answer.data) byMetric.get(r.metric)?.splice(index.get(r.period), 1, r.value);
  return { periods, byMetric };
}

function timeSeries(id, title, metrics, { chart = 'line', stacked = false } = {}) {
  return {
    id, title, wide: true,
    load: ({ filters, signal }) => api('/api/kpi/query', { metric: metrics.join(','), aggregate: chartAggregate(filters), ...rangeParams(filters), limit: 100000 }, { signal }),
    isEmpty: answer => allZero(answer.data),
    render(body, answer, { defs }) {
      const { periods, byMetric } = pivotPeriods(answer, metrics);
      const series = metrics.map(m => ({ name: defs[m]?.name ?? m, unit: defs[m]?.unit, values: byMetric.get(m) }));
      const node = chartNode(title);
      body.append(node);
      if (chart === 'bar') barChart(node, periods, series, { stacked });
      else lineChart(node, periods, series);
    },
  };
}

const trend = () => timeSeries('trend', 'GMV and orders', ['gmv', 'orders']);
const newStoresAndUsers = () => timeSeries('growth', 'New stores and users', ['new_users', 'new_stores'], { chart: 'bar' });
const customers = () => timeSeries('customers', 'New and returning customers', ['new_customers', 'returning_customers'], { chart: 'bar', stacked: true });
const traffic = () => timeSeries('traffic', 'Traffic: store visits, visitors and pageviews', ['store_visits', 'visitors', 'pageviews']);

function breakdown(dimension, metrics) {
  const label = DIMENSION_LABELS[dimension];
  const shown = metrics ?? (dimension === 'source'
    ? ['sessions', 'orders', 'gmv', 'conversion_rate']
    : ['gmv', 'orders', 'aov', 'active_stores', 'visitors']);
  return {
    id: 'by-' + dimension, title: 'By ' + label.toLowerCase(),
    load: ({ filters, signal }) => api('/api/kpi/query', { metric: shown.join(','), aggregate: 'total', group_by: dimension, ...rangeParams(filters) }, { signal }),
    isEmpty: answer => allZero(answer.data),
    render(body, answer, { defs }) {
      const rows = new Map();
      for (const r of answer.data) {
        const key = r[dimension] ?? '(none)';
        if (!rows.has(key)) rows.set(key, { [dimension]: key });
        rows.get(key)[r.metric] = r.value;
      }
      const list = [...rows.values()];
      const first = shown[0];
      list.sort((a, b) => (b[first] ?? 0) - (a[first] ?? 0));
      const node = chartNode(`${defs[first]?.name ?? first} by ${label.toLowerCase()}`);
      body.append(node);
      barChart(node, list.map(r => r[dimension]), [{ name: defs[first]?.name ?? first, unit: defs[first]?.unit, values: list.map(r => r[first]) }],
        { horizontal: list.length > 6, labels: v => v });
      body.append(sortableTable([
        { key: dimension, label },
        ...shown.map(m => ({ key: m, label: defs[m]?.name ?? m, numeric: true, format: v => formatValue(v, defs[m]?.unit) })),
      ], list, { caption: `${label} breakdown`, rowKey: r => r[dimension], initialSort: { key: first, direction: 'descending' } }));
    },
  };
}

/**
 * Ad spend, installs, cost per install and ROAS per source, from the connectors' daily rows
 * (docs/connectors.md). Ad accounts have no country or platform, so only the range applies.
 */
function marketing() {
  const shown = ['ad_spend', 'installs', 'cpi', 'roas'];
  const columns = { ad_spend: ['Ad spend', 'currency'], installs: ['Installs', 'count'], cpi: ['Cost per install', 'currency'], roas: ['ROAS', 'ratio'] };
  return {
    id: 'marketing', title: 'Marketing by source',
    load: ({ filters, signal }) => api('/api/kpi/query',
      { metric: shown.join(','), aggregate: 'total', group_by: 'source', start_date: filters.start, end_date: filters.end ?? undefined }, { signal }),
    isEmpty: answer => allZero(answer.data),
    render(body, answer) {
      const rows = new Map();
      for (const r of answer.data) {
        if (!rows.has(r.source)) rows.set(r.source, { source: r.source });
        rows.get(r.source)[r.metric] = r.value;
      }
      const list = [...rows.values()];
      const node = chartNode('Ad spend by source');
      body.append(node);
      barChart(node, list.map(r => r.source), [{ name: 'Ad spend', unit: 'currency', values: list.map(r => r.ad_spend) }], { labels: v => v });
      body.append(sortableTable([
        { key: 'source', label: 'Source' },
        ...shown.map(m => ({ key: m, label: columns[m][0], numeric: true, format: v => formatValue(v, columns[m][1]) })),
      ], list, { caption: 'Marketing by source', rowKey: r => r.source, initialSort: { key: 'ad_spend', direction: 'descending' } }));
    },
  };
}

function topProducts(orderBy) {
  const byViews = orderBy === 'views';
  return {
    id: byViews ? 'most-viewed' : 'top-products', title: byViews ? 'Most viewed products' : 'Top products by revenue',
    load: ({ filters, signal }) => api('/api/analysis/top-products', { order_by: orderBy, limit: 10, ...rangeParams(filters) }, { signal }),
    isEmpty: answer => answer.data.length === 0,
    render(body, answer) {
      const rows = answer.data.map(p => ({ ...p, name: p.product_name ?? p.product_id, conversion: p.views ? p.orders / p.views * 100 : null }));
      if (byViews) {
        const node = chartNode('Views per product');
        body.append(node);
        barChart(node, rows.map(r => r.name), [{ name: 'Views', unit: 'count', values: rows.map(r => r.views) }], { horizontal: true, labels: v => v });
      }
      body.append(sortableTable([
        { key: 'name', label: 'Product' },
        { key: 'revenue', label: 'Revenue', numeric: true, format: v => formatValue(v, 'currency') },
        { key: 'units', label: 'Units', numeric: true, format: formatInteger },
        { key: 'orders', label: 'Orders', numeric: true, format: formatInteger },
        { key: 'views', label: 'Views', numeric: true, format: formatInteger },
        { key: 'conversion', label: 'Conversion', numeric: true, format: v => formatValue(v, 'percent') },
      ], rows, { caption: byViews ? 'Most viewed products' : 'Top products', rowKey: r => r.product_id }));
    },
  };
}

function funnel() {
  return {
    id: 'funnel', title: 'Conversion funnel (within an hour)',
    load: ({ filters, signal }) => api('/api/analysis/funnel', { steps: FUNNEL.join(','), window: 3600, ...rangeParams(filters) }, { signal }),
    isEmpty: answer => !answer.steps.length || answer.steps[0].users === 0,
    render(body, answer) {
      const node = chartNode('Conversion funnel', true);
      body.append(node);
      funnelChart(node, answer.steps, FUNNEL_NAMES);
      const users = Object.fromEntries(answer.steps.map(st => [st.step, st.users]));
      const share = (a, b) => (users[b] ? formatValue(users[a] / users[b] * 100, 'percent') : '—');
      body.append(el('p', { class: 'muted' }, `Per shopper in the funnel: checkout completion ${share('purchase_completed', 'checkout_started')}, ` +
        `cart abandonment ${users.add_to_cart ? formatValue(100 - users.purchase_completed / users.add_to_cart * 100, 'percent') : '—'}.`));
      body.append(sortableTable([
        { key: 'name', label: 'Step' },
        { key: 'users', label: 'Users', numeric: true, format: formatInteger },
        { key: 'conversion_from_previous', label: 'From previous', numeric: true, format: v => formatValue(v, 'percent') },
        { key: 'conversion_from_first', label: 'From first', numeric: true, format: v => formatValue(v, 'percent') },
      ], answer.steps.map(s => ({ ...s, name: FUNNEL_NAMES[s.step] ?? s.step })), { caption: 'Funnel steps', rowKey: r => r.step }));
    },
  };
}

function retention() {
  return {
    id: 'retention', title: 'Weekly retention cohorts (first order week)', wide: true,
    load: ({ filters, signal }) => {
      // Cohorts need weeks: presets shorter than 90 days still show the last 90.
      const range = filters.end ? rangeParams(filters) : { ...rangeParams(filters), start_date: '90d' };
      return api('/api/analysis/retention', { period: 'week', ...range }, { signal });
    },
    isEmpty: answer => answer.data.length === 0,
    render(body, answer) {
      const cohorts = new Map();
      for (const c of answer.data) {
        if (!cohorts.has(c.cohort)) cohorts.set(c.cohort, { cohort: c.cohort, cells: new Map() });
        cohorts.get(c.cohort).cells.set(c.periods_since_first, c.users);
      }
      const list = [...cohorts.values()].sort((a, b) => a.cohort.localeCompare(b.cohort));
      const max = Math.min(13, Math.max(...answer.data.map(c => c.periods_since_first)) + 1);
      const node = chartNode('Retention heat map: share of each cohort ordering again N weeks later', true);
      body.append(node);
      cohortHeatmap(node, list, max, (c, x) => {
        const size = c.cells.get(0);
        return size && c.cells.has(x) ? c.cells.get(x) / size * 100 : null;
      });
      body.append(el('p', { class: 'muted' }, 'Rows: the week of a customer\'s first order; columns: weeks after it; cells: % of the cohort ordering that week.'));
    },
  };
}

function benchmark() {
  const metrics = ['gmv', 'orders', 'aov', 'conversion_rate'];
  return {
    id: 'benchmark', title: 'Peer benchmark (same category and country)', optional: true,
    unavailableText: 'The peer benchmark is not available for this token.',
    emptyText: 'Not available: too few comparable stores have data in this range.',
    load: async ({ filters, signal, me }) => {
      const store = filters.dims.store_id ?? me.stores[0];
      const range = { start_date: filters.start, end_date: filters.end ?? undefined, tz: filters.tz ?? undefined };
      return Promise.all(metrics.map(metric => api('/api/kpi/benchmark', { metric, store_id: store, ...range }, { signal })));
    },
    isEmpty: answers => answers.every(a => !a.available),
    render(body, answers, { defs }) {
      const first = answers[0];
      body.append(el('p', { class: 'muted' }, `${first.store_id} · ${first.category} · ${first.country} · ${first.peers} comparable stores`));
      body.append(sortableTable([
        { key: 'name', label: 'KPI' },
        { key: 'value', label: 'Yours', numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'p25', label: 'Peers p25', numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'median', label: 'Median', numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'p75', label: 'p75', numeric: true, format: (v, r) => formatValue(v, r.unit) },
      ], answers.filter(a => a.available).map(a => ({ ...a, name: defs[a.metric]?.name ?? a.metric, unit: defs[a.metric]?.unit })),
      { caption: 'Peer benchmark', rowKey: r => r.metric }));
    },
  };
}

/** The store's products bought together in delivered orders (all history the hub keeps, not the date range), with the lift. */
function boughtTogether() {
  return {
    id: 'bought-together', title: 'Bought together', optional: true,
    unavailableText: 'Bought-together pairs are not available on this hub yet.',
    emptyText: 'No two products of the store were delivered together in two orders yet.',
    load: async ({ filters, signal }) => {
      if (!(await documented('/api/analysis/bought-together'))) throw new ApiError(404, 'not on this hub');
      return api('/api/analysis/bought-together', { store_id: filters.dims.store_id, limit: 10 }, { signal });
    },
    isEmpty: answer => !answer.data?.length,
    render(body, answer) {
      body.append(el('p', { class: 'muted' }, 'Lift: how many times more often the two are bought together than if shoppers chose them independently.'));
      body.append(sortableTable([
        { key: 'name', label: 'Product' },
        { key: 'other', label: 'Bought with' },
        { key: 'orders', label: 'Orders together', numeric: true, format: formatInteger },
        { key: 'lift', label: 'Lift', numeric: true, format: v => formatValue(v) + '×' },
      ], answer.data.map(p => ({ ...p, name: p.product_name ?? p.product_id, other: p.other_product_name ?? p.other_product_id })),
      { caption: 'Bought together', rowKey: r => r.product_id + '+' + r.other_product_id, initialSort: { key: 'orders', direction: 'descending' } }));
    },
  };
}

let documentedPaths = null;

/**
 * Whether the hub's OpenAPI document lists a path. Endpoints that a hub may not have yet are
 * asked for only when listed, so the page logs no 404; a 404 still shows "not available".
 */
async function documented(path) {
  documentedPaths ??= fetch('/openapi/v1.json', { cache: 'no-store' })
    .then(r => (r.ok ? r.json() : null))
    .then(doc => (doc?.paths ? new Set(Object.keys(doc.paths)) : null))
    .catch(() => null);
  const paths = await documentedPaths;
  return paths === null || paths.has(path);
}

async function optionalApi(path, signal) {
  if (!(await documented(path))) throw new ApiError(404, path + ' is not on this hub');
  return api(path, null, { signal });
}

function runs() {
  return {
    id: 'runs', title: 'Pipeline runs', wide: true, optional: true,
    unavailableText: 'Pipeline runs are not available on this hub yet.',
    load: ({ signal }) => optionalApi('/api/runs', signal),
    isEmpty: answer => !answer.data?.length,
    emptyText: 'No pipeline runs recorded yet.',
    render(body, answer) {
      body.append(sortableTable([
        { key: 'job', label: 'Job' },
        { key: 'source_system', label: 'Source' },
        { key: 'status', label: 'Status', format: v => el('span', { class: 'status status-' + v }, v ?? '—') },
        { key: 'start_time', label: 'Started', format: formatDateTime },
        { key: 'end_time', label: 'Ended', format: formatDateTime },
        { key: 'records_written', label: 'Records', numeric: true, format: formatInteger },
        { key: 'error_message', label: 'Error', format: v => v ?? '' },
      ], answer.data, { caption: 'Pipeline runs', rowKey: r => r.run_id, initialSort: { key: 'start_time', direction: 'descending' } }));
    },
  };
}

function quality() {
  // Worst first as the API sends it; the summary line counts every finding of the run.
  const rank = { fail: 0, warn: 1, skipped: 2, ok: 3 };
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  return {
    id: 'quality', title: 'Data quality', wide: true, optional: true,
    unavailableText: 'Data-quality results are not available on this hub yet.',
    load: ({ signal }) => optionalApi('/api/quality', signal),
    isEmpty: answer => !answer.data?.length,
    emptyText: 'No data-quality checks recorded yet (they run every few hours, or now with `atalaya quality run`).',
    render(body, answer) {
      const c = answer.counts ?? {};
      body.append(el('p', { class: 'quality-summary', 'data-status': answer.status ?? '' }, [
        el('span', { class: 'status status-' + answer.status }, answer.status ?? '—'),
        ` ${c.fail ?? 0} fail · ${c.warn ?? 0} warn · ${c.ok ?? 0} ok · ${c.skipped ?? 0} skipped — checked ${formatDateTime(answer.checked_at)}`,
      ]));
      const rows = answer.data.map(r => ({ ...r, rank: rank[r.status] ?? 4 }));
      body.append(sortableTable([
        { key: 'rank', label: 'Status', format: (_, r) => el('span', { class: 'status status-' + r.status }, r.status) },
        { key: 'check', label: 'Check' },
        { key: 'subject', label: 'Subject' },
        { key: 'value', label: 'Value', numeric: true, format: (v, r) => (v === null ? '—' : `${number.format(v)} ${r.unit}`.trim()) },
        { key: 'fail_at', label: 'Warn / fail at', numeric: true, format: (v, r) => (r.warn_at === null ? '—' : `${number.format(r.warn_at)} / ${number.format(v)}`) },
        { key: 'message', label: 'Finding' },
      ], rows, { caption: 'Data quality', rowKey: r => r.check + ':' + r.subject, initialSort: { key: 'rank', direction: 'ascending' } }));
    },
  };
}

function alerts() {
  // Firing first as the API sends them; an acknowledged alert still fires but is not sent again.
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
  const rank = a => (a.state === 'firing' ? (a.acknowledged_at ? 1 : 0) : 2);
  return {
    id: 'alerts', title: 'Alerts', wide: true, optional: true,
    unavailableText: 'Alerts are not available on this hub yet.',
    load: async ({ signal }) => {
      if (!(await documented('/api/alerts'))) throw new ApiError(404, '/api/alerts is not on this hub');
      return api('/api/alerts', { limit: 50 }, { signal });
    },
    isEmpty: answer => !answer.data?.length,
    emptyText: 'No alerts: every rule of this environment is quiet.',
    render(body, answer) {
      const firing = answer.data.filter(a => a.state === 'firing');
      const acked = firing.filter(a => a.acknowledged_at).length;
      body.append(el('p', { class: 'alerts-summary' }, [
        `${firing.length - acked} firing · ${acked} acknowledged · ${answer.data.length - firing.length} resolved (latest 50)`,
      ]));
      const rows = answer.data.map(a => ({ ...a, rank: rank(a), shown: a.state === 'firing' && a.acknowledged_at ? 'acknowledged' : a.state }));
      body.append(sortableTable([
        { key: 'rank', label: 'State', format: (_, a) => el('span', { class: 'status status-' + a.shown }, a.shown) },
        { key: 'severity', label: 'Severity', format: v => el('span', { class: 'status status-' + v }, v) },
        { key: 'rule', label: 'Rule', format: (v, a) => (a.subject ? `${v} (${a.subject})` : v) },
        { key: 'value', label: 'Value / limit', numeric: true, format: (v, a) => (v === null ? '—' : `${number.format(v)} / ${a.threshold === null ? '—' : number.format(a.threshold)}`) },
        { key: 'started_at', label: 'Since', format: formatDateTime },
        { key: 'resolved_at', label: 'Resolved', format: v => (v ? formatDateTime(v) : '') },
        { key: 'message', label: 'What' },
      ], rows, { caption: 'Alerts', rowKey: a => a.alert_id, initialSort: { key: 'rank', direction: 'ascending' } }));
    },
  };
}
