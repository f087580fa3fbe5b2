// Figures that know their own health (docs/dashboards.md): every KPI answer carries `quality`, the
// state of the data it was computed from as the newest data-quality run found it, already limited
// to the reader's scope by the server. A badge beside a card or a panel says it in a few words
// ("fresh", "stale since 10:40", "check failing: volume MX"); its hover text lists the findings.
import { el } from './dom.js';
import { formatDateTime, getLocale } from './format.js';
import { t } from './i18n.js';

const TIME = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' };

/** The state of the figures of `metrics` (all of the answer's when omitted): the findings that touch them decide. */
export function healthOf(quality, metrics = null) {
  if (!quality) return null;
  if (quality.state === 'unchecked') return { state: 'unchecked', findings: [], quality };
  const findings = (quality.findings ?? []).filter(f => !metrics || f.metrics.some(m => metrics.includes(m)));
  const failing = findings.filter(f => f.status === 'fail' && f.check !== 'freshness');
  const late = findings.filter(f => f.check === 'freshness');
  const since = late.map(f => f.since).filter(Boolean).sort()[0] ?? quality.stale_since;
  return { state: failing.length ? 'failing' : late.length ? 'stale' : 'fresh', failing, since, findings, quality };
}

function label(health) {
  switch (health.state) {
    case 'failing': {
      const first = health.failing[0];
      const more = health.failing.length > 1 ? ` +${health.failing.length - 1}` : '';
      return t('check failing: {check}', { check: `${first.check}${first.country ? ' ' + first.country : ''}${more}` });
    }
    case 'stale': {
      const d = new Date(health.since);
      return Number.isNaN(d.getTime()) ? t('stale') : t('stale since {time} UTC', { time: new Intl.DateTimeFormat(getLocale(), TIME).format(d) });
    }
    case 'unchecked': return t('quality not checked yet');
    default: return t('fresh');
  }
}

function hover(health) {
  const checked = health.quality.checked_at ? t('Data quality checked {time}.', { time: formatDateTime(health.quality.checked_at) }) : t('The data-quality job has not run yet.');
  const lines = health.findings.map(f => `${f.status === 'fail' ? '✗' : '!'} ${f.check} · ${f.subject}${f.country ? ' (' + f.country + ')' : ''}: ${f.detail}`);
  return [checked, ...(lines.length ? lines : [t('No check that concerns these figures is failing or late.')])].join('\n');
}

/** A small badge: data-health is fresh, stale, failing or unchecked; nothing when the answer has no quality. */
export function healthBadge(quality, metrics = null) {
  const health = healthOf(quality, metrics);
  if (!health) return null;
  return el('span', { class: 'health', 'data-health': health.state, title: hover(health), tabindex: '0' }, label(health));
}
