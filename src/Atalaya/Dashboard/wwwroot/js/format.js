// Numbers, money, percentages, durations and dates in the reader's locale (Intl), among the
// locales the marketplace works in. Amounts are in the hub's reporting currency.
export const LOCALES = ['en', 'es-MX', 'es-CO', 'es-CL', 'sv-SE'];
const KEY = 'atalaya.locale';

let locale = pick();
let currency = 'USD';

function pick() {
  const stored = localStorage.getItem(KEY);
  if (LOCALES.includes(stored)) return stored;
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const exact = LOCALES.find(l => l.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    const language = wanted.split('-')[0].toLowerCase();
    if (language === 'es') return 'es-MX';
    if (language === 'sv') return 'sv-SE';
  }
  return 'en';
}

export function getLocale() { return locale; }

export function setLocale(value) {
  if (!LOCALES.includes(value)) return;
  locale = value;
  localStorage.setItem(KEY, value);
  document.documentElement.lang = value;
}

export function setCurrency(code) { if (code) currency = code; }

export function getCurrency() { return currency; }

const cache = new Map();
function nf(options) {
  const key = locale + JSON.stringify(options);
  let f = cache.get(key);
  if (!f) cache.set(key, f = new Intl.NumberFormat(locale, options));
  return f;
}

/** A KPI value by its unit (currency, count, percent, seconds); '—' when there is none. */
export function formatValue(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'currency':
      return nf({ style: 'currency', currency, maximumFractionDigits: Math.abs(value) >= 1000 ? 0 : 2 }).format(value);
    case 'percent':
      return nf({ style: 'percent', maximumFractionDigits: 1 }).format(value / 100);
    case 'seconds':
      return value >= 120
        ? nf({ style: 'unit', unit: 'minute', maximumFractionDigits: 1 }).format(value / 60)
        : nf({ style: 'unit', unit: 'second', maximumFractionDigits: 0 }).format(value);
    default:
      return nf({ maximumFractionDigits: Number.isInteger(value) ? 0 : 2 }).format(value);
  }
}

/**
 * Money with a fixed number of decimals, so that every row of a table column reads alike
 * ("$4,032.00" under "$675.39", never "$4,032" beside it).
 */
export function formatMoney(value, decimals) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return nf({ style: 'currency', currency, minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(value);
}

/** The decimals one money column uses for all its rows: none when any amount reaches 1,000, else 2. */
export function moneyDecimals(values) {
  return values.some(v => Number.isFinite(v) && Math.abs(v) >= 1000) ? 0 : 2;
}

/** A short axis label: compact notation for big numbers. */
export function formatAxis(value, unit) {
  if (unit === 'percent') return nf({ maximumFractionDigits: 0 }).format(value) + ' %';
  if (unit === 'currency') return nf({ style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 }).format(value);
  return nf({ notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

/** A change in percent with its sign, e.g. +12.3 %. */
export function formatChange(pct) {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return '—';
  return nf({ style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(pct / 100);
}

export function formatInteger(value) {
  return Number.isFinite(value) ? nf({ maximumFractionDigits: 0 }).format(value) : '—';
}

/** A period label of the API (2026-03-02, 2026-03, 2026-03-02T14:00Z) for the reader. */
export function formatPeriod(label) {
  if (/^\d{4}-\d{2}$/.test(label)) {
    return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', timeZone: 'UTC' }).format(new Date(label + '-01T00:00:00Z'));
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(label)) {
    return new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(label + 'T00:00:00Z'));
  }
  const instant = new Date(label);
  if (!Number.isNaN(instant.getTime())) {
    const hour = label.slice(11, 16);
    const day = new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(label.slice(0, 10) + 'T00:00:00Z'));
    return `${day} ${hour}`;
  }
  return label;
}

export function formatDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(d) + ' UTC';
}

export function formatDate(isoDate) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(isoDate + 'T00:00:00Z'));
}
