// The vendor view: one store (or a few) of one owner, with the panels only a store's owner needs.
import { api, ApiError } from '../api.js';
import { el } from '../dom.js';
import { formatValue, formatInteger, formatDate } from '../format.js';
import { rangeParams, addDays } from '../filters.js';
import { barChart, funnelChart, cohortHeatmap } from '../charts.js';
import { sortableTable } from '../table.js';
import { t } from '../i18n.js';
import { kpiName, describe, localDate, definitionText, values, chartNode, timeSeries, trend, breakdown, documented } from './shared.js';

// Session KPIs (bounce, time on site, conversion, cart) count the sessions that start in the
// store: the KPI dictionary (docs/kpis.md) gives a session the dimensions of its first event.
const VENDOR_CARDS = ['gmv', 'net_gmv', 'refunds', 'cancelled_orders', 'orders', 'aov', 'units_sold', 'new_customers', 'returning_customers', 'visitors', 'store_visits',
  'pageviews', 'bounce_rate', 'avg_session_duration_s', 'conversion_rate', 'cart_abandonment_rate', 'checkout_completion_rate'];

const FUNNEL = ['store_visited', 'product_viewed', 'add_to_cart', 'checkout_started', 'purchase_completed'];
const FUNNEL_NAMES = { store_visited: 'Store visit', product_viewed: 'Product view', add_to_cart: 'Add to cart', checkout_started: 'Checkout', purchase_completed: 'Purchase' };

/** A vendor's view: its stores' sales, customers, traffic, products, funnel, retention and standing among peers. */
export function vendorView(me) {
  return {
    title: me.stores.map(id => describe('store_id', id)).join(', '), cards: VENDOR_CARDS,
    dimensions: [...(me.stores.length > 1 ? ['store_id'] : []), 'source', 'platform'],
    panels: [trend(), customers(), traffic(), breakdown('category', ['gmv', 'orders', 'aov']), topProducts('revenue'), topProducts('views'),
      funnel(), retention(), benchmark(), boughtTogether()],
  };
}

const customers = () => timeSeries('customers', 'New and returning customers', ['new_customers', 'returning_customers'], { chart: 'bar', stacked: true });
const traffic = () => timeSeries('traffic', 'Traffic: store visits, visitors and pageviews', ['store_visits', 'visitors', 'pageviews']);

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
