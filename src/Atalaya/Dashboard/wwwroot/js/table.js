// Sortable tables: each header is a button (keyboard reachable) that sorts by its column and
// sets aria-sort. columns: [{ key, label, numeric, money, wrap, format(value, row) }]; a money
// column formats every row with the same decimals. A table wider than its panel scrolls inside
// it, with a fading edge and a "scroll →" cue while there is more to the right.
import { el } from './dom.js';
import { formatMoney, moneyDecimals } from './format.js';
import { t } from './i18n.js';

export function sortableTable(columns, rows, { caption, rowKey, initialSort } = {}) {
  let sort = initialSort ?? null;
  columns = columns.map(c => {
    if (!c.money) return c;
    const decimals = moneyDecimals(rows.map(r => r[c.key]));
    return { ...c, numeric: true, format: v => formatMoney(v, decimals) };
  });
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
      columns.map(c => el('td', { class: (c.numeric ? 'num' : '') + (c.wrap ? ' wrap' : ''), 'data-money': c.money ? '' : undefined, 'data-col': c.key, 'data-value': typeof r[c.key] === 'number' ? r[c.key] : undefined },
        c.format ? c.format(r[c.key], r) : r[c.key] ?? '—')))));
  }
  render();
  const wrap = el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption ?? t('table') }, table);
  const cue = el('p', { class: 'scroll-cue', 'aria-hidden': 'true' }, t('scroll →'));
  const box = el('div', { class: 'table-box' }, [wrap, cue]);
  // data-overflow: more table to the right than shows; the CSS draws the fade and the cue from it.
  const update = () => {
    const more = wrap.scrollWidth - wrap.clientWidth - wrap.scrollLeft > 1;
    box.dataset.overflow = String(more);
  };
  wrap.addEventListener('scroll', update, { passive: true });
  new ResizeObserver(update).observe(wrap);
  return box;
}
