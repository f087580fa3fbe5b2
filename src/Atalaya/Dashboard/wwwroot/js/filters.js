// The filters live in the page's URL (never the token), so a view can be bookmarked and shared:
// start_date / end_date as the metrics API takes them (a preset such as 7d, or two ISO dates),
// aggregate for the charts, tz for day boundaries, and one value per dimension the scope allows.
import { el } from './dom.js';
import { t } from './i18n.js';

export const PRESETS = [
  { value: 'today', label: 'Today' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
];
export const AGGREGATES = ['hourly', 'daily', 'weekly', 'monthly'];
/** Day boundaries: UTC or the marketplace's markets. */
export const TIME_ZONES = ['UTC', 'America/Mexico_City', 'America/Bogota', 'America/Santiago', 'Europe/Stockholm'];
/** A country lead's days start at the country's midnight unless the URL says otherwise. */
export const COUNTRY_TIME_ZONES = { MX: 'America/Mexico_City', CO: 'America/Bogota', CL: 'America/Santiago', SE: 'Europe/Stockholm' };
const ISO = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The filters of the URL. A value the page does not recognise (a shared link with
 * start_date=2026-13-01) is kept as it is, so the hub's answer names what is wrong instead of
 * the page quietly showing another range. defaultZone: the reader's zone when the URL has none.
 */
export function readFilters(dimensions, defaultZone = null) {
  const q = new URLSearchParams(location.search);
  const start = q.get('start_date');
  const end = q.get('end_date');
  const custom = ISO.test(start ?? '') && ISO.test(end ?? '') && start <= end;
  const preset = PRESETS.some(p => p.value === start) ? start : '7d';
  const aggregate = AGGREGATES.includes(q.get('aggregate')) ? q.get('aggregate') : null;
  const tz = q.get('tz') || defaultZone;
  const dims = {};
  for (const d of dimensions) {
    const v = q.get(d);
    if (v) dims[d] = v;
  }
  const odd = (start && !custom && start !== preset) || (end && !custom);
  return odd ? { start, end: end || null, aggregate, tz, dims } : { start: custom ? start : preset, end: custom ? end : null, aggregate, tz, dims };
}

export function writeFilters(f) {
  const q = new URLSearchParams();
  q.set('start_date', f.start);
  if (f.end) q.set('end_date', f.end);
  if (f.aggregate) q.set('aggregate', f.aggregate);
  if (f.tz) q.set('tz', f.tz);
  for (const [k, v] of Object.entries(f.dims)) if (v) q.set(k, v);
  const url = location.pathname + '?' + q.toString();
  if (url !== location.pathname + location.search) history.pushState(null, '', url);
}

/** The range, time zone and dimension parameters of an API call. */
export function rangeParams(f) {
  return { start_date: f.start, end_date: f.end ?? undefined, tz: f.tz ?? undefined, ...f.dims };
}

/** The chart period: the URL's, else hourly for a single day and daily otherwise. */
export function chartAggregate(f) {
  if (f.aggregate) return f.aggregate;
  if (f.start === 'today' || (f.end && f.start === f.end)) return 'hourly';
  return 'daily';
}

/** Days between two ISO dates, and shifting one. */
export function addDays(iso, days) {
  const d = new Date(iso + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(a, b) {
  return Math.round((new Date(b + 'T00:00:00Z') - new Date(a + 'T00:00:00Z')) / 86_400_000);
}

/**
 * Draws the filter bar into <form id="filters"> and calls onChange(filters) after each change.
 * options: { [dimension]: string[] } of the values offered for each dimension.
 */
export function renderFilterBar(form, f, options, labels, onChange, describe = v => v) {
  form.replaceChildren();
  const presets = el('fieldset', { class: 'presets' }, [el('legend', {}, t('Period'))]);
  for (const p of PRESETS) {
    const pressed = !f.end && f.start === p.value;
    presets.append(el('button', { type: 'button', 'aria-pressed': String(pressed), 'data-preset': p.value,
      onclick: () => onChange({ ...f, start: p.value, end: null }) }, t(p.label)));
  }
  form.append(presets);

  const today = new Date().toISOString().slice(0, 10);
  const from = el('input', { type: 'date', id: 'f-start', value: f.end && ISO.test(f.start) ? f.start : '', max: today });
  const to = el('input', { type: 'date', id: 'f-end', value: ISO.test(f.end ?? '') ? f.end : '', max: today });
  const apply = el('button', { type: 'submit' }, t('Apply'));
  form.append(el('fieldset', { class: 'custom' }, [
    el('legend', {}, t('Custom range')),
    el('label', { for: 'f-start' }, t('From')), from,
    el('label', { for: 'f-end' }, t('To')), to, apply,
  ]));
  form.onsubmit = e => {
    e.preventDefault();
    if (from.value && to.value && from.value <= to.value) onChange({ ...f, start: from.value, end: to.value });
    else if (from.value || to.value) to.setCustomValidity(t('Pick a start and an end on or after it.')), to.reportValidity(), to.setCustomValidity('');
  };

  const aggregate = el('select', { id: 'f-aggregate', onchange: e => onChange({ ...f, aggregate: e.target.value || null }) },
    [el('option', { value: '' }, t('Automatic')), ...AGGREGATES.map(a => el('option', { value: a, selected: f.aggregate === a }, t(a[0].toUpperCase() + a.slice(1))))]);
  const zones = TIME_ZONES.includes(f.tz ?? 'UTC') ? TIME_ZONES : [...TIME_ZONES, f.tz];
  const zone = el('select', { id: 'f-tz', onchange: e => onChange({ ...f, tz: e.target.value }) },
    zones.map(z => el('option', { value: z, selected: (f.tz ?? 'UTC') === z }, z.replace('_', ' '))));
  const selects = [
    el('div', { class: 'field' }, [el('label', { for: 'f-aggregate' }, t('Chart period')), aggregate]),
    el('div', { class: 'field' }, [el('label', { for: 'f-tz' }, t('Time zone')), zone]),
  ];
  for (const [dim, values] of Object.entries(options)) {
    const current = f.dims[dim] ?? '';
    const all = [...new Set([...values, ...(current ? [current] : [])])].sort();
    const select = el('select', { id: 'f-' + dim, 'data-dimension': dim,
      onchange: e => onChange({ ...f, dims: { ...f.dims, [dim]: e.target.value || undefined } }) },
      [el('option', { value: '' }, t('All')), ...all.map(v => el('option', { value: v, selected: v === current }, describe(dim, v)))]);
    selects.push(el('div', { class: 'field' }, [el('label', { for: 'f-' + dim }, t(labels[dim] ?? dim)), select]));
  }
  form.append(el('div', { class: 'selects' }, selects));
}
