// What the role views share (views/admin.js, views/country.js, views/vendor.js): how a panel is
// drawn (loading, empty, error or "not available" on its own, so one failing call never blanks
// the page), how KPIs and dimension values read, and the panels more than one role shows.
import { api, ApiError } from '../api.js';
import { el } from '../dom.js';
import { formatValue, formatDateTime } from '../format.js';
import { rangeParams, chartAggregate } from '../filters.js';
import { lineChart, barChart, disposeIn } from '../charts.js';
import { sortableTable } from '../table.js';
import { t, kpiDescription } from '../i18n.js';
import { healthBadge } from '../health.js';

export const DIMENSION_LABELS = {
  country: 'Country', hub: 'Hub', zone: 'Zone', source: 'Source', platform: 'Platform', category: 'Category', store_id: 'Store',
};

// Net GMV, refunds and cancellations sit beside GMV: the order ledger's view of the same money.
export const PLATFORM_CARDS = ['gmv', 'net_gmv', 'refunds', 'cancelled_orders', 'orders', 'aov', 'commissions', 'revenue', 'payments_success_rate', 'active_stores', 'active_users',
  'new_stores', 'new_users', 'store_churn_rate', 'mrr', 'leads', 'conversion_pct'];

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

/** The reader's stores by name (from /api/me), for describe(). */
export function setStoreNames(names) {
  storeNames = names;
}

/** The local date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant, tz) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(instant));
}

/** A card's hover text: what the KPI means, then its exact definition and version (from /api/kpi/definitions). */
export function definitionText(def) {
  return [def.id ? kpiDescription(def).text : def.description, def.definition && `${def.definition}${def.version ? ` (v${def.version})` : ''}`].filter(Boolean).join('\n');
}

export function values(answer) {
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

export function errorBox(e, retry) {
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

export function chartNode(label, tall = false) {
  return el('div', { class: 'chart' + (tall ? ' tall' : ''), role: 'img', 'aria-label': label });
}

export const allZero = rows => rows.every(r => !r.value);

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
export function timeSeries(id, title, metrics, { chart = 'line', stacked = false } = {}) {
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

export const trend = () => timeSeries('trend', 'GMV and orders', ['gmv', 'orders']);
export const newStoresAndUsers = () => timeSeries('growth', 'New stores and users', ['new_users', 'new_stores'], { chart: 'bar' });

export function breakdown(dimension, metrics) {
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

let documentedPaths = null;

/**
 * Whether the hub's OpenAPI document lists a path. Endpoints that a hub may not have yet are
 * asked for only when listed, so the page logs no 404; a 404 still shows "not available".
 */
export async function documented(path) {
  documentedPaths ??= fetch('/openapi/v1.json', { cache: 'no-store' })
    .then(r => (r.ok ? r.json() : null))
    .then(doc => (doc?.paths ? new Set(Object.keys(doc.paths)) : null))
    .catch(() => null);
  const paths = await documentedPaths;
  return paths === null || paths.has(path);
}

export function alerts() {
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
