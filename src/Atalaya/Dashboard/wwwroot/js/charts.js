// Charts drawn with Apache ECharts (vendored, served by the hub): time series, bars, the funnel
// and the cohort heat map. Animations are off: figures should read at once, and tests and
// screenshots see the final picture.
import { formatAxis, formatValue, formatPeriod, formatInteger } from './format.js';

const PALETTE = ['#1f5f8b', '#f2b134', '#3a9d5d', '#c8553d', '#7b5ea7', '#2a9d8f', '#e76f51', '#6c757d'];
const live = new Set();

function draw(node, option) {
  const echarts = window.echarts;
  // What the chart shows, for tests and screen readers' neighbours: the series by name.
  node.dataset.series = JSON.stringify((option.series ?? []).map(s => ({ id: s.id ?? null, name: s.name, data: s.data })));
  const chart = echarts.getInstanceByDom(node) ?? echarts.init(node, null, { renderer: 'canvas' });
  chart.setOption({ animation: false, color: PALETTE, textStyle: { fontFamily: 'inherit' }, ...option }, true);
  if (!live.has(chart)) {
    live.add(chart);
    new ResizeObserver(() => chart.resize()).observe(node);
  }
  return chart;
}

/** Disposes the charts inside a node that is about to be replaced. */
export function disposeIn(root) {
  for (const node of root.querySelectorAll('.chart')) {
    const chart = window.echarts?.getInstanceByDom(node);
    if (chart) {
      live.delete(chart);
      chart.dispose();
    }
  }
}

export function disposeCharts() {
  for (const chart of live) chart.dispose();
  live.clear();
}

const grid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };

/** Lines over periods: series = [{ name, unit, values: [..] }]; two units get two axes. */
export function lineChart(node, periods, series) {
  const units = [...new Set(series.map(s => s.unit))].slice(0, 2);
  return draw(node, {
    grid,
    legend: { top: 0, type: 'scroll' },
    tooltip: { trigger: 'axis', valueFormatter: undefined, formatter: items => tooltip(items, series) },
    xAxis: { type: 'category', data: periods.map(formatPeriod), boundaryGap: false },
    yAxis: units.map((unit, i) => ({ type: 'value', position: i === 0 ? 'left' : 'right', axisLabel: { formatter: v => formatAxis(v, unit) }, splitLine: { show: i === 0 } })),
    series: series.map(s => ({ id: s.id, name: s.name, type: 'line', yAxisIndex: Math.max(0, units.indexOf(s.unit)), showSymbol: periods.length < 40, data: s.values })),
  });
}

/** Bars per category (or per period when stacked): series = [{ name, unit, values }]. */
export function barChart(node, categories, series, { stacked = false, horizontal = false, labels = formatPeriod } = {}) {
  const unit = series[0]?.unit;
  const valueAxis = { type: 'value', axisLabel: { formatter: v => formatAxis(v, unit) } };
  const categoryAxis = { type: 'category', data: categories.map(labels), axisLabel: { interval: 'auto' } };
  return draw(node, {
    grid,
    legend: series.length > 1 ? { top: 0 } : undefined,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: items => tooltip(items, series) },
    xAxis: horizontal ? valueAxis : categoryAxis,
    yAxis: horizontal ? { ...categoryAxis, inverse: true } : valueAxis,
    series: series.map(s => ({ id: s.id, name: s.name, type: 'bar', stack: stacked ? 'all' : undefined, data: s.values, barMaxWidth: 36 })),
  });
}

/** The conversion funnel: steps = [{ step, users, conversion_from_first }]. */
export function funnelChart(node, steps, names) {
  return draw(node, {
    tooltip: { trigger: 'item', formatter: p => escapeHtml(`${p.name}: ${formatInteger(p.value)} (${formatValue(steps[p.dataIndex].conversion_from_first, 'percent')})`) },
    series: [{
      type: 'funnel', sort: 'none', left: '2%', width: '58%', top: 8, bottom: 8, minSize: '6%', gap: 2,
      label: { position: 'right', formatter: p => `${p.name}: ${formatInteger(p.value)}`, color: '#1d2733', fontSize: 12 },
      labelLine: { show: true },
      data: steps.map(s => ({ name: names[s.step] ?? s.step, value: s.users })),
    }],
  });
}

/**
 * Cohort retention as a heat map: rows = cohorts (labelled with their size), columns = periods
 * since first, cells = % of the cohort. percentOf returns null for a period still to come: that
 * cell stays blank instead of being painted as 0 %. The legend carries its numbers.
 */
export function cohortHeatmap(node, cohorts, maxPeriods, percentOf, rowLabel = c => c.cohort) {
  const cells = [];
  cohorts.forEach((c, y) => {
    for (let x = 0; x < maxPeriods; x++) {
      const pct = percentOf(c, x);
      if (pct !== null) cells.push([x, y, Math.round(pct * 10) / 10]);
    }
  });
  return draw(node, {
    grid: { left: 8, right: 16, top: 8, bottom: 48, containLabel: true },
    tooltip: { formatter: p => escapeHtml(`${cohorts[p.value[1]].cohort} +${p.value[0]}: ${formatValue(p.value[2], 'percent')}`) },
    xAxis: { type: 'category', data: Array.from({ length: maxPeriods }, (_, i) => '+' + i), splitArea: { show: true } },
    yAxis: { type: 'category', data: cohorts.map(rowLabel), inverse: true },
    visualMap: { min: 0, max: 100, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120,
      text: [formatValue(100, 'percent'), formatValue(0, 'percent')], inRange: { color: ['#eef4f8', '#1f5f8b'] }, formatter: v => formatValue(v, 'percent') },
    series: [{ type: 'heatmap', data: cells, label: { show: maxPeriods <= 14, formatter: p => Math.round(p.value[2]) } }],
  });
}

// ECharts inserts a formatter's string as HTML, and product, store, hub, zone and source names come
// from clients: every name is escaped before it is joined with markup (the CSP stops scripts, not an
// <img> or a fake link). The marker is ECharts' own colour dot.
export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function tooltip(items, series) {
  const list = [].concat(items);
  const head = escapeHtml(list[0]?.axisValueLabel ?? '');
  return [head, ...list.map(i => `${i.marker}${escapeHtml(i.seriesName)}: ${escapeHtml(formatValue(i.value, series[i.seriesIndex]?.unit))}`)].join('<br>');
}
