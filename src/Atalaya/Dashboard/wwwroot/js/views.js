// The three views (admin, country operations lead, vendor) as lists of panels. Every figure
// comes from the public metrics API with the reader's token; the scope is the server's business,
// the view only chooses what to ask for. Each panel shows loading, empty, error or "not
// available" on its own, so one failing call never blanks the page.
import { api, ApiError } from './api.js';
import { el } from './dom.js';
import { formatValue, formatChange, formatInteger, formatDateTime, formatDate } from './format.js';
import { rangeParams, chartAggregate, addDays, daysBetween } from './filters.js';
import { lineChart, barChart, funnelChart, cohortHeatmap, disposeIn } from './charts.js';
import { sortableTable } from './table.js';
import { t, kpiDescription } from './i18n.js';
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
/**
 * Names the dashboards give a KPI instead of the dictionary's: "Revenue" beside GMV read as
 * the same money; it is what successful payments collected.
 */
const KPI_LABELS = { revenue: 'Payments collected' };
const NONE = '(none)';

/** A KPI's name in the reader's language. */
export function kpiName(metric, defs) {
  return t(KPI_LABELS[metric] ?? defs[metric]?.name ?? metric);
}

let storeNames = {};

/**
 * How a dimension value reads: a store by its name (from /api/me), a hub's slug as words
 * ("cdmx-norte" → "Cdmx Norte": the hub keeps no hub names), a zone as "Zone 2", and the row of
 * events that name no store as "No store / not attributed". Ids stay in data-key for links and tests.
 */
export function describe(dimension, value) {
  if (value === null || value === undefined || value === NONE || value === '') return t('No store / not attributed');
  if (dimension === 'store_id') return storeNames[value] ?? value;
  if (dimension === 'hub') return value.split('-').map(w => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
  if (dimension === 'zone' && /^z\d+$/.test(value)) return t('Zone {n}', { n: value.slice(1) });
  return value;
}

export function viewFor(me) {
  storeNames = me.store_names ?? {};
  switch (me.role) {
    case 'admin':
    case 'analyst':
      return {
        title: t('Platform overview'), cards: PLATFORM_CARDS, dimensions: ['country', 'source', 'platform', 'category'],
        panels: [alerts(), trend(), breakdown('country'), breakdown('source'), marketing(), newStoresAndUsers(), runs(), quality()],
      };
    case 'country_ops_lead': {
      const several = me.countries.length > 1;
      return {
        title: t('Country operations') + ' · ' + me.countries.join(', ') + (me.hubs.length ? ' · ' + me.hubs.map(h => describe('hub', h)).join(', ') : '')
          + (me.zones.length ? ' · ' + me.zones.map(z => describe('zone', z)).join(', ') : ''),
        cards: PLATFORM_CARDS,
        dimensions: [...(several ? ['country'] : []), 'hub', 'zone', 'source', 'platform', 'category'],
        panels: [alerts(), trend(), ...(several ? [breakdown('country')] : []), breakdown('hub'), breakdown('zone'), breakdown('source'), newStoresAndUsers()],
      };
    }
    case 'vendor':
      return {
        title: me.stores.map(id => describe('store_id', id)).join(', '), cards: VENDOR_CARDS,
        dimensions: [...(me.stores.length > 1 ? ['store_id'] : []), 'source', 'platform'],
        panels: [trend(), customers(), traffic(), breakdown('category', ['gmv', 'orders', 'aov']), topProducts('revenue'), topProducts('views'),
          funnel(), retention(), benchmark(), boughtTogether()],
      };
    default:
      throw new Error('No dashboard for the role ' + me.role + '.');
  }
}

// ---- KPI cards ------------------------------------------------------------------------------

/**
 * The cards: each KPI over the chosen range and today so far (live). The change compares like
 * with like: for a range that ends today, today until now against yesterday until the same time
 * and against the 7-day average until that time (from /api/kpi/summary?compare=same_time); for a
 * range in the past, against the period of the same length before it.
 */
export class Cards {
  constructor(node, metrics, defs) {
    this.node = node;
    this.metrics = metrics;
    this.defs = defs;
    this.previous = new Map();
    this.today = new Map();
    this.summary = null;
    this.endsToday = false;
  }

  async load(filters, signal, summary) {
    this.node.setAttribute('aria-busy', 'true');
    this.node.dataset.state = 'loading';
    if (!this.node.childElementCount) this.node.replaceChildren(el('p', { class: 'muted' }, t('Loading figures…')));
    try {
      // Without a summary (the call failed) the cards still show the range, compared with the period before.
      const [current, now] = await Promise.all([this.fetch(rangeParams(filters), signal), summary.catch(() => null)]);
      const { start_date: start, end_date: end } = current.params;
      this.endsToday = now !== null && end >= localDate(now.as_of, now.tz);
      if (now) this.applySummary(now, false);
      if (!this.endsToday) {
        const days = daysBetween(start, end) + 1;
        const previous = await this.fetch({ ...filters.dims, tz: filters.tz ?? undefined, start_date: addDays(start, -days), end_date: addDays(start, -1) }, signal);
        this.previous = values(previous);
      }
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

  applySummary(summary, redraw = true) {
    this.summary = summary;
    for (const row of summary.data ?? []) this.today.set(row.metric, row);
    if (!redraw) return;
    for (const card of this.node.querySelectorAll('[data-metric]')) {
      const metric = card.dataset.metric;
      const unit = this.defs[metric]?.unit;
      card.querySelector('.today').textContent = t('Today: {value}', { value: formatValue(this.today.get(metric)?.today, unit) });
      if (this.endsToday) {
        card.querySelector('.change').replaceWith(this.sameTimeChange(metric));
        card.querySelector('.compare').replaceWith(this.averageChange(metric));
      }
    }
  }

  /** "▲ +5.2 % today vs yesterday until 11:00", coloured by whether the move is good news. */
  sameTimeChange(metric) {
    const change = this.today.get(metric)?.change_vs_yesterday_pct ?? null;
    return changeLine('change', metric, change, t('today vs yesterday until {time}', { time: this.summary?.until ?? '' }));
  }

  averageChange(metric) {
    const change = this.today.get(metric)?.change_vs_avg_7d_pct ?? null;
    return changeLine('compare', metric, change, t('vs 7-day average until {time}', { time: this.summary?.until ?? '' }));
  }

  render(current, range) {
    this.range = range;
    const cards = this.metrics.map(metric => {
      const def = this.defs[metric] ?? { name: metric, unit: 'count' };
      const value = current.get(metric) ?? null;
      const before = this.previous.get(metric) ?? null;
      const change = value !== null && before ? (value - before) / Math.abs(before) * 100 : null;
      return el('article', { class: 'card', 'data-metric': metric, 'data-value': value ?? '' }, [
        el('h3', { title: definitionText(def) }, kpiName(metric, this.defs)),
        el('p', { class: 'value' }, formatValue(value, def.unit)),
        this.endsToday ? this.sameTimeChange(metric)
          : value === null ? el('p', { class: 'change', 'data-change': '' }, t('no data in this range'))
            : changeLine('change', metric, change, t('vs previous period'), t('no previous figure')),
        this.endsToday ? this.averageChange(metric) : el('p', { class: 'compare' }),
        el('p', { class: 'today' }, t('Today: {value}', { value: formatValue(this.today.get(metric)?.today, def.unit) })),
        healthBadge(this.quality, [metric]),
      ].filter(Boolean));
    });
    const note = this.endsToday && this.summary?.until ? [el('span', {}, ' · '), el('span', { class: 'like-for-like' }, t('Today until {time} against the same hours of earlier days.', { time: this.summary.until }))] : [];
    this.node.replaceChildren(el('p', { class: 'range muted' }, [range, ...note]), el('div', { class: 'cards' }, cards));
  }
}

/** A change line: arrow, signed percentage and what it is compared with; green when the move is good news. */
function changeLine(kind, metric, change, what, missing = null) {
  const good = change === null || change === 0 ? '' : (change > 0) !== LOWER_IS_BETTER.has(metric) ? 'good' : 'bad';
  return el('p', { class: kind + ' ' + good, 'data-change': change ?? '' }, change === null && missing ? missing
    : [el('span', { 'aria-hidden': 'true' }, change > 0 ? '▲ ' : change < 0 ? '▼ ' : ''), formatChange(change), ' ', what]);
}

/** The local date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant, tz) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(instant));
}

/** A card's hover text: what the KPI means, then its exact definition and version (from /api/kpi/definitions). */
function definitionText(def) {
  return [def.id ? kpiDescription(def).text : def.description, def.definition && `${def.definition}${def.version ? ` (v${def.version})` : ''}`].filter(Boolean).join('\n');
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
  const body = el('div', { class: 'panel-body' }, el('p', { class: 'muted' }, t('Loading…')));
  const section = el('section', { class: 'panel' + (panel.wide ? ' wide' : ''), id: 'panel-' + panel.id, 'data-panel': panel.id, 'data-state': 'loading', 'aria-busy': 'true', 'aria-labelledby': 'h-' + panel.id },
    [el('h2', { id: 'h-' + panel.id }, t(panel.title, panel.titleVars)), body]);
  if (replacing) replacing.replaceWith(section);
  else container.append(section);
  const done = state => {
    section.dataset.state = state;
    section.setAttribute('aria-busy', 'false');
  };
  try {
    const data = await panel.load(ctx);
    if (panel.isEmpty?.(data)) {
      body.replaceChildren(el('p', { class: 'empty' }, t(panel.emptyText ?? 'No data for these filters.')));
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
      body.replaceChildren(el('p', { class: 'unavailable' }, t(panel.unavailableText ?? 'Not available on this hub.')));
      done('unavailable');
      return;
    }
    body.replaceChildren(errorBox(e, () => drawPanel(container, panel, ctx, section)));
    done('error');
  }
}

/**
 * Draws a live panel's figures again in place (a new event changed them): no loading state, and
 * on failure the figures shown stay until the next update.
 */
export async function refreshPanel(panel, ctx) {
  const section = document.getElementById('panel-' + panel.id);
  if (!section || section.dataset.state !== 'ready') return;
  try {
    const data = await panel.load(ctx);
    if (panel.isEmpty?.(data)) return;
    const body = section.querySelector('.panel-body');
    disposeIn(body);
    body.replaceChildren();
    panel.render(body, data, ctx);
    section.dataset.refreshed = String(Date.now());
  } catch {
    // The next update tries again.
  }
}

function errorBox(e, retry) {
  return el('div', { class: 'error', role: 'alert' }, [
    el('p', {}, t('Could not load this: {message}', { message: e.message || t('unknown error') })),
    el('button', { type: 'button', onclick: retry }, t('Retry')),
  ]);
}

/** A footnote's line: what the KPI means in the reader's language (`lang` says which, for screen readers). */
function meaning(def) {
  const { text, lang } = kpiDescription(def);
  return el('dd', { lang }, text);
}

/** Under a panel: what each of its figures means, from the KPI dictionary. */
function footnote(metrics, defs) {
  return el('dl', { class: 'footnote', 'data-footnote': metrics.join(',') }, [
    el('p', { class: 'sr-only' }, t('What the figures mean:')),
    ...metrics.filter(m => defs[m]).map(m => el('div', { 'data-metric': m }, [el('dt', {}, kpiName(m, defs) + ': '), meaning(defs[m])])),
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

/**
 * A KPI over the range's periods. Hours after the current one (by the hub's clock, from the
 * summary's as_of) are left out rather than drawn as a fall to 0; the panel is drawn again when
 * live events change the figures.
 */
function timeSeries(id, title, metrics, { chart = 'line', stacked = false } = {}) {
  return {
    id, title, wide: true, live: true,
    load: async ({ filters, signal, summary }) => {
      const [answer, now] = await Promise.all([
        api('/api/kpi/query', { metric: metrics.join(','), aggregate: chartAggregate(filters), ...rangeParams(filters), limit: 100000 }, { signal }),
        summary.catch(() => null)]);
      const cut = now ? new Date(now.as_of).getTime() : Infinity;
      return { ...answer, data: answer.data.filter(r => !/T\d\d:/.test(r.period) || new Date(r.period).getTime() <= cut) };
    },
    isEmpty: answer => allZero(answer.data),
    render(body, answer, { defs }) {
      const { periods, byMetric } = pivotPeriods(answer, metrics);
      const series = metrics.map(m => ({ id: m, name: kpiName(m, defs), unit: defs[m]?.unit, values: byMetric.get(m) }));
      const node = chartNode(t(title));
      body.append(node);
      if (chart === 'bar') barChart(node, periods, series, { stacked });
      else lineChart(node, periods, series);
      body.append(footnote(metrics, defs));
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
    id: 'by-' + dimension, title: 'By {dimension}', titleVars: { get dimension() { return t(label).toLowerCase(); } }, live: true,
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
      const dimensionName = t(label).toLowerCase();
      const node = chartNode(t('{metric} by {dimension}', { metric: kpiName(first, defs), dimension: dimensionName }));
      body.append(node);
      barChart(node, list.map(r => r[dimension]), [{ id: first, name: kpiName(first, defs), unit: defs[first]?.unit, values: list.map(r => r[first]) }],
        { horizontal: list.length > 6, labels: v => describe(dimension, v) });
      body.append(sortableTable([
        { key: dimension, label: t(label), format: v => (v === NONE ? el('span', { class: 'none', title: t('Events that name no store (sign-ups, app opens, leads, ad accounts): their hub, zone or category is unknown, so they are counted here.') }, describe(dimension, v) + ' ⓘ') : describe(dimension, v)) },
        ...shown.map(m => ({ key: m, label: kpiName(m, defs), numeric: true, money: defs[m]?.unit === 'currency', format: v => formatValue(v, defs[m]?.unit) })),
      ], list, { caption: t('{dimension} breakdown', { dimension: dimensionName }), rowKey: r => r[dimension], initialSort: { key: first, direction: 'descending' } }));
      if (list.some(r => r[dimension] === NONE)) {
        body.append(el('p', { class: 'footnote none-note' }, t('No store / not attributed') + ': ' + t('Events that name no store (sign-ups, app opens, leads, ad accounts): their hub, zone or category is unknown, so they are counted here.')));
      }
      body.append(footnote(shown, defs));
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
  const heading = m => (m === 'roas' ? 'ROAS' : t(columns[m][0]));
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
      const node = chartNode(t('Ad spend by source'));
      body.append(node);
      barChart(node, list.map(r => r.source), [{ name: t('Ad spend'), unit: 'currency', values: list.map(r => r.ad_spend) }], { labels: v => v });
      body.append(sortableTable([
        { key: 'source', label: t('Source') },
        ...shown.map(m => ({ key: m, label: heading(m), numeric: true, money: columns[m][1] === 'currency', format: v => formatValue(v, columns[m][1]) })),
      ], list, { caption: t('Marketing by source'), rowKey: r => r.source, initialSort: { key: 'ad_spend', direction: 'descending' } }));
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
        const node = chartNode(t('Views per product'));
        body.append(node);
        barChart(node, rows.map(r => r.name), [{ name: t('Views'), unit: 'count', values: rows.map(r => r.views) }], { horizontal: true, labels: v => v });
      }
      body.append(sortableTable([
        { key: 'name', label: t('Product') },
        { key: 'revenue', label: t('Item revenue'), money: true },
        { key: 'units', label: t('Units'), numeric: true, format: formatInteger },
        { key: 'orders', label: t('Orders'), numeric: true, format: formatInteger },
        { key: 'views', label: t('Views'), numeric: true, format: formatInteger },
        { key: 'conversion', label: t('Conversion'), numeric: true, format: v => formatValue(v, 'percent') },
      ], rows, { caption: t(byViews ? 'Most viewed products' : 'Top products'), rowKey: r => r.product_id }));
      body.append(el('p', { class: 'footnote' }, t('Item revenue: the price × quantity of the product in the orders, before delivery fees and discounts (not the Payments collected card, which is money collected by payments).')));
    },
  };
}

function funnel() {
  return {
    id: 'funnel', title: 'Shoppers through the steps (within an hour)',
    // The cart-abandonment and checkout-completion figures named here are the cards' own (one
    // source: the same KPI query), never a second figure with the same name worked out from the funnel.
    load: async ({ filters, signal }) => {
      const [answer, rates] = await Promise.all([
        api('/api/analysis/funnel', { steps: FUNNEL.join(','), window: 3600, ...rangeParams(filters) }, { signal }),
        api('/api/kpi/query', { metric: 'cart_abandonment_rate,checkout_completion_rate', aggregate: 'total', ...rangeParams(filters) }, { signal })]);
      return { ...answer, rates: values(rates) };
    },
    isEmpty: answer => !answer.steps.length || answer.steps[0].users === 0,
    render(body, answer, { defs }) {
      const names = Object.fromEntries(Object.entries(FUNNEL_NAMES).map(([k, v]) => [k, t(v)]));
      const node = chartNode(t('Conversion funnel'), true);
      body.append(node);
      funnelChart(node, answer.steps, names);
      const rate = m => el('span', { class: 'rate', 'data-metric': m, 'data-value': answer.rates.get(m) ?? '', title: definitionText(defs[m] ?? {}) },
        `${kpiName(m, defs)} ${formatValue(answer.rates.get(m) ?? null, 'percent')}`);
      const text = t('Counts shoppers who did the steps in order within an hour. The cart-abandonment and checkout-completion cards count sessions instead: {abandonment} and {completion} in this range.',
        { abandonment: '\u0001', completion: '\u0002' });
      const [before, middle, after] = text.split(/[\u0001\u0002]/);
      body.append(el('p', { class: 'footnote funnel-note' }, [before, rate('cart_abandonment_rate'), middle, rate('checkout_completion_rate'), after]));
      body.append(sortableTable([
        { key: 'name', label: t('Step') },
        { key: 'users', label: t('Shoppers'), numeric: true, format: formatInteger },
        { key: 'conversion_from_previous', label: t('From previous'), numeric: true, format: v => formatValue(v, 'percent') },
        { key: 'conversion_from_first', label: t('From first'), numeric: true, format: v => formatValue(v, 'percent') },
      ], answer.steps.map(s => ({ ...s, name: names[s.step] ?? s.step })), { caption: t('Funnel steps'), rowKey: r => r.step }));
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
      // The last week there is: the range's end (or today's), as its Monday. Later weeks of a cohort have not happened.
      const end = /^\d{4}-\d{2}-\d{2}$/.test(answer.params?.end_date ?? '') ? answer.params.end_date : localDate(Date.now(), 'UTC');
      const lastMonday = addDays(end, -((new Date(end + 'T00:00:00Z').getUTCDay() + 6) % 7));
      const node = chartNode(t('Retention heat map: share of each cohort ordering again N weeks later'), true);
      body.append(node);
      cohortHeatmap(node, list, max, (c, x) => {
        const size = c.cells.get(0);
        if (!size || addDays(c.cohort, 7 * x) > lastMonday) return null;
        return (c.cells.get(x) ?? 0) / size * 100;
      }, c => `${formatDate(c.cohort)} (${formatInteger(c.cells.get(0) ?? 0)})`);
      node.dataset.lastWeek = lastMonday;
      body.append(el('p', { class: 'footnote' }, t("Rows: the week of a customer's first order, with the cohort's size; columns: weeks after it; cells: % of the cohort ordering that week. Weeks still to come are blank.")));
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
      body.append(el('p', { class: 'muted' }, t('{store} · {category} · {country} · {n} comparable stores',
        { store: describe('store_id', first.store_id), category: first.category, country: first.country, n: formatInteger(first.peers) })));
      const rows = answers.filter(a => a.available).map(a => ({ ...a, name: kpiName(a.metric, defs), unit: defs[a.metric]?.unit, standing: standing(a) }));
      const lead = rows[0];
      if (lead?.standing) {
        body.append(el('p', { class: 'standing', 'data-metric': lead.metric, 'data-standing': lead.standing.key },
          t('Your {metric} is {where} in your category.', { metric: lead.name, where: lead.standing.text })));
      }
      body.append(sortableTable([
        { key: 'name', label: t('KPI') },
        { key: 'value', label: t('Yours'), numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'p25', label: t('Peers p25'), numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'median', label: t('Median'), numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'p75', label: t('p75'), numeric: true, format: (v, r) => formatValue(v, r.unit) },
        { key: 'standing', label: t('Where you stand'), format: v => (v ? el('span', { 'data-standing': v.key }, v.text) : '—') },
      ], rows, { caption: t('Peer benchmark'), rowKey: r => r.metric }));
    },
  };
}

/** Where a store's figure sits among its peers' quartiles: the "where you stand" cue. */
export function standing(b) {
  if (b.value === null || b.value === undefined || b.median === null) return null;
  const n = formatInteger(b.peers);
  const key = b.p75 !== null && b.value > b.p75 ? 'top-quarter'
    : b.value > b.median ? 'above-median'
      : b.value === b.median ? 'at-median'
        : b.p25 !== null && b.value < b.p25 ? 'bottom-quarter' : 'below-median';
  const text = {
    'top-quarter': 'in the top quarter of {n} stores', 'above-median': 'above the median of {n} stores', 'at-median': 'at the median of {n} stores',
    'below-median': 'below the median of {n} stores', 'bottom-quarter': 'in the bottom quarter of {n} stores',
  }[key];
  return { key, text: t(text, { n }) };
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
      body.append(el('p', { class: 'muted' }, t('Lift: how many times more often the two are bought together than if shoppers chose them independently.')));
      body.append(sortableTable([
        { key: 'name', label: t('Product') },
        { key: 'other', label: t('Bought with') },
        { key: 'orders', label: t('Orders together'), numeric: true, format: formatInteger },
        { key: 'lift', label: t('Lift'), numeric: true, format: v => formatValue(v) + '×' },
      ], answer.data.map(p => ({ ...p, name: p.product_name ?? p.product_id, other: p.other_product_name ?? p.other_product_id })),
      { caption: t('Bought together'), rowKey: r => r.product_id + '+' + r.other_product_id, initialSort: { key: 'orders', direction: 'descending' } }));
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
        { key: 'job', label: t('Job') },
        { key: 'source_system', label: t('Source') },
        { key: 'status', label: t('Status'), format: v => el('span', { class: 'status status-' + v }, v ? t(v) : '—') },
        { key: 'start_time', label: t('Started'), format: formatDateTime },
        { key: 'end_time', label: t('Ended'), format: formatDateTime },
        { key: 'records_written', label: t('Records'), numeric: true, format: formatInteger },
        { key: 'error_message', label: t('Error'), wrap: true, format: v => v ?? '' },
      ], answer.data, { caption: t('Pipeline runs'), rowKey: r => r.run_id, initialSort: { key: 'start_time', direction: 'descending' } }));
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
        el('span', { class: 'status status-' + answer.status }, answer.status ? t(answer.status) : '—'),
        ' ' + t('{fail} fail · {warn} warn · {ok} ok · {skipped} skipped — checked {time}', { fail: c.fail ?? 0, warn: c.warn ?? 0, ok: c.ok ?? 0, skipped: c.skipped ?? 0, time: formatDateTime(answer.checked_at) }),
      ]));
      const rows = answer.data.map(r => ({ ...r, rank: rank[r.status] ?? 4 }));
      body.append(sortableTable([
        { key: 'rank', label: t('Status'), format: (_, r) => el('span', { class: 'status status-' + r.status }, t(r.status)) },
        { key: 'check', label: t('Check') },
        { key: 'subject', label: t('Subject'), wrap: true },
        { key: 'value', label: t('Value'), numeric: true, format: (v, r) => (v === null ? '—' : `${number.format(v)} ${r.unit}`.trim()) },
        { key: 'fail_at', label: t('Warn / fail at'), numeric: true, format: (v, r) => (r.warn_at === null ? '—' : `${number.format(r.warn_at)} / ${number.format(v)}`) },
        { key: 'message', label: t('Finding'), wrap: true },
      ], rows, { caption: t('Data quality'), rowKey: r => r.check + ':' + r.subject, initialSort: { key: 'rank', direction: 'ascending' } }));
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
        t('{firing} firing · {acked} acknowledged · {resolved} resolved (latest 50)', { firing: firing.length - acked, acked, resolved: answer.data.length - firing.length }),
      ]));
      const rows = answer.data.map(a => ({ ...a, rank: rank(a), shown: a.state === 'firing' && a.acknowledged_at ? 'acknowledged' : a.state }));
      body.append(sortableTable([
        { key: 'rank', label: t('State'), format: (_, a) => el('span', { class: 'status status-' + a.shown }, t(a.shown)) },
        { key: 'severity', label: t('Severity'), format: v => el('span', { class: 'status status-' + v }, t(v)) },
        { key: 'rule', label: t('Rule'), format: (v, a) => (a.subject ? `${v} (${a.subject})` : v) },
        { key: 'value', label: t('Value / limit'), numeric: true, format: (v, a) => (v === null ? '—' : `${number.format(v)} / ${a.threshold === null ? '—' : number.format(a.threshold)}`) },
        { key: 'started_at', label: t('Since'), format: formatDateTime },
        { key: 'resolved_at', label: t('Resolved'), format: v => (v ? formatDateTime(v) : '') },
        { key: 'message', label: t('What'), wrap: true },
      ], rows, { caption: t('Alerts'), rowKey: a => a.alert_id, initialSort: { key: 'rank', direction: 'ascending' } }));
    },
  };
}
