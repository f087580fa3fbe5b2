// Sortable tables: each header is a button (keyboard reachable) that sorts by its column and
// sets aria-sort. columns: [{ key, label, numeric, format(value, row) }].
import { el } from './dom.js';

export function sortableTable(columns, rows, { caption, rowKey, initialSort } = {}) {
  let sort = initialSort ?? null;
  const table = el('table', { class: 'data' });
  if (caption) table.append(el('caption', { class: 'sr-only' }, caption));
  const head = el('tr');
  const body = el('tbody');
  table.append(el('thead', {}, head), body);

  function render() {
    head.replaceChildren(...columns.map(c => {
      const direction = sort?.key === c.key ? sort.direction : null;
      return el('th', { scope: 'col', class: c.numeric ? 'num' : '', 'aria-sort': direction ?? 'none' },
        el('button', { type: 'button', 'data-sort': c.key, onclick: () => {
          sort = { key: c.key, direction: direction === 'descending' ? 'ascending' : 'descending' };
          render();
        } }, [c.label, el('span', { class: 'arrow', 'aria-hidden': 'true' }, direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : '')]));
    }));
    const sorted = [...rows];
    if (sort) {
      const sign = sort.direction === 'ascending' ? 1 : -1;
      sorted.sort((a, b) => {
        const x = a[sort.key], y = b[sort.key];
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * sign;
      });
    }
    body.replaceChildren(...sorted.map(r => el('tr', rowKey ? { 'data-key': rowKey(r) } : {},
      columns.map(c => el('td', { class: c.numeric ? 'num' : '', 'data-col': c.key, 'data-value': typeof r[c.key] === 'number' ? r[c.key] : undefined },
        c.format ? c.format(r[c.key], r) : r[c.key] ?? '—')))));
  }
  render();
  return el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption ?? 'table' }, table);
}
