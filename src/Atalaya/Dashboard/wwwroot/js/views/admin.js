// The admin (and analyst) view: the whole platform, marketing by source, and the operations panels
// (pipeline runs, data quality) that only these tokens may read.
import { api, ApiError } from '../api.js';
import { el } from '../dom.js';
import { formatValue, formatInteger, formatDateTime } from '../format.js';
import { barChart } from '../charts.js';
import { sortableTable } from '../table.js';
import { t } from '../i18n.js';
import { PLATFORM_CARDS, chartNode, allZero, trend, newStoresAndUsers, breakdown, documented, alerts } from './shared.js';

/** The platform overview of admin and analyst tokens. */
export function adminView() {
  return {
    title: t('Platform overview'), cards: PLATFORM_CARDS, dimensions: ['country', 'source', 'platform', 'category'],
    panels: [alerts(), trend(), breakdown('country'), breakdown('source'), marketing(), newStoresAndUsers(), runs(), quality()],
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
