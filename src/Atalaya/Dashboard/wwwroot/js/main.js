// The dashboards' entry: log in with a token (kept in sessionStorage for this tab, sent only in
// the Authorization header), learn its role and scope from /api/me, then draw that role's view
// with the filters found in the URL and keep its cards live.
import { api, session, ApiError } from './api.js';
import { el } from './dom.js';
import { getLocale, setLocale, setCurrency, formatDateTime } from './format.js';
import { readFilters, writeFilters, renderFilterBar, rangeParams, COUNTRY_TIME_ZONES } from './filters.js';
import { disposeCharts } from './charts.js';
import { LiveFeed } from './live.js';
import { viewFor, Cards, drawPanel, refreshPanel, describe, DIMENSION_LABELS } from './views.js';
import { t, translatePage } from './i18n.js';

const $ = id => document.getElementById(id);
const ROLE_NAMES = { admin: 'Admin', analyst: 'Analyst', country_ops_lead: 'Country operations lead', vendor: 'Vendor' };
const LIVE_TEXT = { live: 'Live', polling: 'Polling every 10 s', stale: 'Stale' };

let me = null;
let defs = {};
let view = null;
let options = {};
let pass = null;
let feed = null;
let cards = null;
let lastSummary = null;

function show(id) {
  for (const section of ['login', 'app', 'boot']) $(section).hidden = section !== id;
}

function showLogin(message = '') {
  feed?.stop();
  pass?.abort();
  disposeCharts();
  me = null;
  $('who').textContent = '';
  $('logout').hidden = true;
  $('live').hidden = true;
  $('login-error').textContent = message;
  show('login');
  $('token').focus();
}

async function logIn(token) {
  const who = await api('/api/me', null, { token });
  session.set(token);
  await start(who);
}

async function start(who) {
  me = who;
  setCurrency(me.reporting_currency);
  view = viewFor(me);
  const dictionary = await api('/api/kpi/definitions');
  defs = Object.fromEntries(dictionary.kpis.map(k => [k.id, k]));
  options = await dimensionValues(view.dimensions);
  $('who').textContent = `${ROLE_NAMES[me.role] ? t(ROLE_NAMES[me.role]) : me.role} · ${me.name}`;
  $('logout').hidden = false;
  $('live').hidden = false;
  show('app');
  render();
}

/** The values each filter offers: the ones with traffic in the last 90 days, within the scope. */
async function dimensionValues(dimensions) {
  const found = {};
  await Promise.all(dimensions.map(async d => {
    try {
      const answer = await api('/api/kpi/query', { metric: 'sessions,orders', aggregate: 'total', group_by: d, start_date: '90d' });
      found[d] = [...new Set(answer.data.filter(r => r.value && r[d]).map(r => r[d]))];
    } catch {
      found[d] = [];
    }
  }));
  return Object.fromEntries(dimensions.map(d => [d, found[d]]));
}

/** A country lead with one country sees days from that country's midnight unless the URL names a zone. */
function defaultZone() {
  return me.role === 'country_ops_lead' && me.countries.length === 1 ? COUNTRY_TIME_ZONES[me.countries[0]] ?? null : null;
}

let ctx = null;

function render() {
  if (!me) return;
  pass?.abort();
  pass = new AbortController();
  const signal = pass.signal;
  view = viewFor(me);
  translatePage();
  const filters = readFilters(view.dimensions, defaultZone());
  renderFilterBar($('filters'), filters, options, DIMENSION_LABELS, next => {
    writeFilters(next);
    render();
  }, describe);
  disposeCharts();
  $('notice').replaceChildren();
  const cardsNode = el('div', { id: 'cards', 'aria-live': 'off' });
  const panels = el('div', { class: 'panels' });
  $('view').replaceChildren(el('h2', { class: 'view-title' }, view.title), cardsNode, panels);
  cards = new Cards(cardsNode, view.cards, defs);
  // One summary (today until now, like for like) for the cards, and the hub's "now" for the charts.
  const summary = api('/api/kpi/summary', { metric: view.cards.join(','), compare: 'same_time', tz: filters.tz ?? undefined, ...filters.dims }, { signal });
  summary.catch(() => {});
  ctx = { filters, signal, defs, me, summary };
  // A shared link whose filters the hub refuses (start_date=2026-13-01, country=ZZ): say what is
  // wrong, in the hub's words, instead of drawing a page of zeros or errors.
  api('/api/kpi/query', { metric: 'orders', aggregate: 'total', ...rangeParams(filters) }, { signal }).then(() => {
    cards.load(filters, signal, summary);
    for (const panel of view.panels) drawPanel(panels, panel, ctx);
    startFeed(filters);
  }, e => {
    if (e.name === 'AbortError') return;
    if (e instanceof ApiError && e.status === 400) {
      showBadLink(e.message);
      return;
    }
    cards.load(filters, signal, summary);
    for (const panel of view.panels) drawPanel(panels, panel, ctx);
    startFeed(filters);
  });
}

function showBadLink(message) {
  feed?.stop();
  $('view').replaceChildren();
  $('notice').replaceChildren(el('div', { class: 'notice', 'data-state': 'bad-link' }, [
    el('p', {}, t('This link has a filter the hub does not accept: {message}', { message })),
    el('button', { type: 'button', onclick: () => { history.pushState(null, '', location.pathname); render(); } }, t('Reset the filters')),
  ]));
}

let refreshing = false;

/** After a live change: the charts and tables of the live panels, drawn again in place (one pass at a time). */
async function refreshLivePanels() {
  if (refreshing || !ctx) return;
  refreshing = true;
  // The latest summary's as_of is the hub's "now": an hourly chart redrawn at 12:05 shows the 12:00 hour.
  if (lastSummary) ctx = { ...ctx, summary: Promise.resolve(lastSummary) };
  try {
    await Promise.all(view.panels.filter(p => p.live).map(p => refreshPanel(p, ctx)));
  } finally {
    refreshing = false;
  }
}

function startFeed(filters) {
  feed?.stop();
  lastSummary = null;
  const params = { metric: view.cards.join(','), compare: 'same_time', tz: filters.tz ?? undefined, ...filters.dims };
  // A day of slack: in a zone behind UTC, local today may still be UTC's yesterday.
  const rangeEndsToday = !filters.end || filters.end >= new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  feed = new LiveFeed(params, {
    onState: state => {
      const indicator = $('live');
      indicator.dataset.state = state;
      indicator.textContent = LIVE_TEXT[state] ? t(LIVE_TEXT[state]) : state;
      indicator.title = state === 'stale' ? t('No update since {time}', { time: formatDateTime(new Date(feed.lastUpdate || Date.now()).toISOString()) }) : '';
    },
    onSummary: summary => {
      const changed = lastSummary !== null && JSON.stringify(lastSummary.data) !== JSON.stringify(summary.data);
      lastSummary = summary;
      cards?.applySummary(summary);
      if (changed && rangeEndsToday) {
        cards?.refresh(filters, pass.signal);
        refreshLivePanels();
      }
    },
    onUnauthorized: () => {
      session.clear();
      showLogin(t('The token is no longer valid; log in again.'));
    },
  });
  feed.start();
}

function boot() {
  const locale = $('locale');
  locale.value = getLocale();
  document.documentElement.lang = getLocale();
  translatePage();
  locale.addEventListener('change', () => {
    setLocale(locale.value);
    translatePage();
    if (me) $('who').textContent = `${ROLE_NAMES[me.role] ? t(ROLE_NAMES[me.role]) : me.role} · ${me.name}`;
    render();
  });
  $('logout').addEventListener('click', () => {
    session.clear();
    showLogin();
  });
  $('login-form').addEventListener('submit', async e => {
    e.preventDefault();
    const input = $('token');
    const token = input.value.trim();
    if (!token) return;
    $('login-error').textContent = '';
    try {
      await logIn(token);
      input.value = '';
      $('main').focus();
    } catch (err) {
      $('login-error').textContent = err instanceof ApiError && err.status === 401 ? t('This token is unknown or revoked.')
        : err instanceof ApiError && err.status === 403 ? t('This is a write key; use a read token.')
          : t('Could not log in: {message}', { message: err.message });
    }
  });
  window.addEventListener('popstate', render);
  const token = session.token;
  if (!token) {
    showLogin();
    return;
  }
  logIn(token).catch(err => {
    if (err instanceof ApiError && err.status === 401) session.clear();
    showLogin(err instanceof ApiError && err.status === 401 ? t('The token is no longer valid; log in again.') : t('Could not load: {message}', { message: err.message }));
  });
}

boot();
