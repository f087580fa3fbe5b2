// The KPI cards at the top of every view: each KPI over the range, today so far, and the change.
import { api } from '../api.js';
import { el } from '../dom.js';
import { formatValue, formatChange, formatDate } from '../format.js';
import { rangeParams, addDays, daysBetween } from '../filters.js';
import { t } from '../i18n.js';
import { healthBadge } from '../health.js';
import { kpiName, localDate, definitionText, values, errorBox } from './shared.js';

/** KPIs where a fall is good news. */
const LOWER_IS_BETTER = new Set(['bounce_rate', 'store_churn_rate', 'cart_abandonment_rate', 'refunds', 'cancelled_orders', 'cancelled_gmv', 'customer_churn_rate']);

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
