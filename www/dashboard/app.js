// clickstamp dashboard: plain JavaScript, no dependencies, no build step.
// The token lives in sessionStorage (this tab only) and travels only in the Authorization
// header. Every value from the API is put on the page as text (textContent), never as HTML.
'use strict';

const TOKEN_KEY = 'clickstamp.token';
const DIMENSIONS = ['day', 'hour', 'offer', 'partner', 'advertiser', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'source_id', 'event'];
const SUMMARY_COLUMNS = [
  ['gross_clicks', 'Gross clicks'], ['unique_clicks', 'Unique'], ['duplicate_clicks', 'Duplicate'],
  ['invalid_clicks', 'Invalid'], ['impressions', 'Impressions'], ['conversions', 'Conversions'],
  ['view_through_conversions', 'View-through'], ['events', 'Events'], ['rejected_conversions', 'Rejected'],
  ['revenue', 'Revenue'], ['payout', 'Payout'], ['profit', 'Profit'], ['cvr', 'CVR %'], ['epc', 'EPC'],
];
const CLICK_COLUMNS = [
  ['time_ms', 'Time (UTC)', time], ['transaction_id', 'Transaction ID', null, 'mono'], ['oid', 'Offer', null, 'num'],
  ['affid', 'Partner', null, 'num'], ['sub1', 'sub1'], ['sub2', 'sub2'], ['source_id', 'Source'], ['kind', 'Via'],
  ['gclid', 'gclid'], ['unique', 'Unique', (v) => (v ? 'yes' : 'no')], ['error', 'Error'], ['ip', 'IP'],
  ['user_agent', 'User agent'], ['referrer', 'Referrer'],
];
const CONVERSION_COLUMNS = [
  ['time_ms', 'Time (UTC)', time], ['status', 'Status'], ['reason', 'Reason'], ['event', 'Event'],
  ['oid', 'Offer', null, 'num'], ['affid', 'Partner', null, 'num'], ['amount', 'Amount', null, 'num'],
  ['payout', 'Payout', null, 'num'], ['revenue', 'Revenue', null, 'num'], ['order_id', 'Order'],
  ['transaction_id', 'Transaction ID', null, 'mono'], ['click_time_ms', 'Click time', time],
  ['click_to_conversion_ms', 'Delay', delay], ['attributed_by', 'Attributed by'], ['source', 'Source'],
  ['sub1', 'sub1'], ['conversion_id', 'Conversion ID', null, 'mono'],
];

const $ = (id) => document.getElementById(id);
const state = { clicks: [], conversions: [] }; // cursor stacks: [] is the newest page

// ---- small helpers ----

function time(ms) {
  if (ms === null || ms === undefined || ms === '') return '';
  return new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19);
}

function delay(ms) {
  if (ms === null || ms === undefined) return '';
  const s = Math.round(Number(ms) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function utcDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

async function request(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' }, cache: 'no-store' });
  return res;
}

async function api(path) {
  const res = await request(path);
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  if (!res.ok) {
    if (res.status === 401) signOut('Your token was not accepted: sign in again.');
    throw new ApiError(res.status, body);
  }
  return body;
}

/** Downloads a CSV report with the token in the header (a plain link could not carry it). */
async function download(path, fileName) {
  const res = await request(path);
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new ApiError(res.status, body);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = el('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function showError(where, e) {
  $(where).textContent = e ? `${e.message}${e.status ? ` (HTTP ${e.status})` : ''}` : '';
}

// ---- filters ----

function filterParams({ withRange = true } = {}) {
  const p = new URLSearchParams();
  const form = $('filters');
  for (const name of ['oid', 'affid', 'sub1']) {
    const v = form.elements[name].value.trim();
    if (v) p.set(name, v);
  }
  if (withRange) {
    const from = form.elements.from.value;
    const to = form.elements.to.value;
    if (from) p.set('from', from);
    if (to) p.set('to', to);
  }
  return p;
}

function setDefaultRange() {
  const now = Date.now();
  $('f-to').value = utcDate(now);
  $('f-from').value = utcDate(now - 6 * 86400000);
}

// ---- overview: tiles and chart ----

async function loadOverview() {
  const p = filterParams();
  const oneDay = p.get('from') && p.get('from') === p.get('to');
  p.set('group_by', oneDay ? 'hour' : 'day');
  const s = await api(`/api/reports/summary?${p}`);
  const t = s.totals;
  const tiles = $('tiles');
  tiles.replaceChildren();
  for (const [key, label] of [
    ['gross_clicks', 'Clicks'], ['unique_clicks', 'Unique clicks'], ['conversions', 'Conversions'],
    ['events', 'Events'], ['revenue', 'Revenue'], ['payout', 'Payout'], ['cvr', 'CVR %'], ['epc', 'EPC'],
  ]) {
    tiles.append(el('div', {}, el('dt', {}, label), el('dd', { 'data-metric': key }, t[key])));
  }
  drawChart(s, oneDay ? 'hour' : 'day');
}

/** Every bucket of the range, so days without traffic show as zero rather than vanish. */
function buckets(summary, unit) {
  const start = Date.parse(summary.from);
  const end = Date.parse(summary.to);
  const step = unit === 'hour' ? 3600000 : 86400000;
  const byKey = new Map(summary.rows.map((r) => [r[unit], r.metrics]));
  const out = [];
  for (let t = Math.floor(start / step) * step; t < end && out.length < 400; t += step) {
    const key = unit === 'hour' ? `${new Date(t).toISOString().slice(0, 13)}:00:00Z` : utcDate(t);
    const m = byKey.get(key);
    out.push({ key, clicks: m ? m.gross_clicks : 0, conversions: m ? m.conversions + m.events : 0 });
  }
  return out;
}

function niceMax(v) {
  if (v <= 4) return 4;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * mag >= v) return f * mag;
  return 10 * mag;
}

let lastChart = null;

function drawChart(summary, unit) {
  lastChart = [summary, unit];
  const data = buckets(summary, unit);
  // Drawn at the width it is shown at, so its text stays readable on a phone.
  const W = Math.max(300, Math.round($('chart').clientWidth || 760));
  const narrow = W < 520;
  const H = narrow ? 230 : 260, L = 40, R = 40, T = narrow ? 46 : 30, B = 34;
  const plotW = W - L - R, plotH = H - T - B;
  const maxClicks = niceMax(Math.max(0, ...data.map((d) => d.clicks)));
  const maxConv = niceMax(Math.max(0, ...data.map((d) => d.conversions)));
  const totalClicks = data.reduce((a, d) => a + d.clicks, 0);
  const totalConv = data.reduce((a, d) => a + d.conversions, 0);
  const label = `Clicks and conversions per ${unit}, ${data[0]?.key ?? ''} to ${data[data.length - 1]?.key ?? ''}: ${totalClicks} clicks, ${totalConv} conversions`;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, 'data-clicks': totalClicks, 'data-conversions': totalConv });
  root.append(svg('title', {}, label));
  const y = (v, max) => T + plotH - (v / max) * plotH;
  for (let i = 0; i <= 4; i++) {
    const gy = T + (plotH * i) / 4;
    root.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: gy, y2: gy }));
    root.append(svg('text', { x: L - 6, y: gy + 4, 'text-anchor': 'end' }, Math.round(maxClicks * (1 - i / 4))));
    root.append(svg('text', { x: W - R + 6, y: gy + 4 }, Math.round(maxConv * (1 - i / 4) * 100) / 100));
  }
  root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
  const slot = plotW / Math.max(1, data.length);
  const barW = Math.max(2, Math.min(40, slot * 0.6));
  const labelEvery = Math.ceil(data.length / Math.max(1, Math.floor(plotW / 52)));
  const points = [];
  data.forEach((d, i) => {
    const cx = L + slot * i + slot / 2;
    const by = y(d.clicks, maxClicks);
    const bar = svg('rect', { class: 'clicks', x: cx - barW / 2, y: by, width: barW, height: T + plotH - by });
    bar.append(svg('title', {}, `${d.key}: ${d.clicks} clicks, ${d.conversions} conversions`));
    root.append(bar);
    points.push([cx, y(d.conversions, maxConv)]);
    if (i % labelEvery === 0) {
      const text = unit === 'hour' ? d.key.slice(11, 16) : d.key.slice(5);
      root.append(svg('text', { x: cx, y: H - B + 16, 'text-anchor': 'middle' }, text));
    }
  });
  if (points.length) {
    root.append(svg('polyline', { class: 'conversions', points: points.map((p) => p.join(',')).join(' ') }));
    for (const [px, py] of points) root.append(svg('circle', { class: 'dot', cx: px, cy: py, r: 3.5 }));
  }
  const legend = svg('g', { class: 'legend' });
  legend.append(svg('rect', { class: 'clicks', x: L, y: 8, width: 12, height: 12 }));
  legend.append(svg('text', { x: L + 18, y: 18 }, 'Clicks (left axis)'));
  const [lx, ly] = narrow ? [L, 32] : [L + 160, 14];
  legend.append(svg('circle', { class: 'dot', cx: lx + 6, cy: ly, r: 5 }));
  legend.append(svg('text', { x: lx + 18, y: ly + 4 }, 'Conversions + events (right axis)'));
  root.append(legend);
  $('chart').replaceChildren(root);
  $('chart-caption').textContent = label;
}

// ---- summary table ----

function groupBy() {
  const chosen = [...document.querySelectorAll('#group-by input:checked')].map((c) => c.value);
  return chosen.length ? chosen : ['day'];
}

function summaryQuery() {
  const p = filterParams();
  p.set('group_by', groupBy().join(','));
  return p;
}

async function loadSummary() {
  const s = await api(`/api/reports/summary?${summaryQuery()}`);
  const table = $('summary-table');
  const head = el('tr', {}, ...s.group_by.map((g) => el('th', { scope: 'col' }, g)),
    ...SUMMARY_COLUMNS.map(([, label]) => el('th', { scope: 'col', class: 'num' }, label)));
  const body = s.rows.map((r) => el('tr', {}, ...s.group_by.map((g) => el('td', {}, r[g] === '' ? '(none)' : r[g])),
    ...SUMMARY_COLUMNS.map(([k]) => el('td', { class: 'num' }, r.metrics[k]))));
  if (!body.length) body.push(el('tr', { class: 'empty' }, el('td', { colspan: s.group_by.length + SUMMARY_COLUMNS.length }, 'No traffic in this range.')));
  const total = el('tr', {}, el('th', { scope: 'row', colspan: s.group_by.length }, 'Total'),
    ...SUMMARY_COLUMNS.map(([k]) => el('td', { class: 'num' }, s.totals[k])));
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body), el('tfoot', {}, total));
  const invalid = s.totals.invalid_by_reason.map((r) => `${r.reason}: ${r.clicks}`).join('; ');
  $('summary-note').textContent = `${s.from} to ${s.to} (UTC, whole hours) · from the ${s.source === 'counters' ? 'hourly counters' : 'raw records'}`
    + (s.truncated ? ' · showing the first 10,000 groups' : '') + (invalid ? ` · invalid clicks: ${invalid}` : '');
}

// ---- raw reports ----

function rowsQuery(kind, cursor) {
  const p = filterParams();
  if (kind === 'conversions' && $('conv-status').value) p.set('status', $('conv-status').value);
  p.set('limit', '25');
  if (cursor) p.set('cursor', cursor);
  return p;
}

async function loadRows(kind) {
  const stack = state[kind];
  const cursor = stack[stack.length - 1];
  const page = await api(`/api/reports/${kind}?${rowsQuery(kind, cursor)}`);
  const columns = kind === 'clicks' ? CLICK_COLUMNS : CONVERSION_COLUMNS;
  const head = el('tr', {}, ...columns.map(([, label, , cls]) => el('th', { scope: 'col', class: cls === 'num' ? 'num' : '' }, label)));
  const body = page.rows.map((r) => {
    const tr = el('tr', { 'data-id': kind === 'clicks' ? r.transaction_id : r.conversion_id });
    if ((kind === 'clicks' && r.error_code) || (kind === 'conversions' && r.status !== 'approved')) tr.className = 'bad';
    for (const [key, , format, cls] of columns) {
      const td = el('td', { class: cls || '', 'data-col': key }, format ? format(r[key]) : (r[key] ?? ''));
      if (key === 'status') td.className = `status-${r.status}`;
      tr.append(td);
    }
    return tr;
  });
  if (!body.length) body.push(el('tr', { class: 'empty' }, el('td', { colspan: columns.length }, cursor ? 'No more rows.' : 'Nothing yet for these filters.')));
  $(`${kind}-table`).replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  const next = $(`${kind}-next`);
  next.disabled = !page.next_cursor;
  next.dataset.cursor = page.next_cursor || '';
  $(`${kind}-first`).disabled = stack.length === 0;
}

// ---- tracking links ----

async function makeLinks(event) {
  event.preventDefault();
  showError('link-error', null);
  const p = new URLSearchParams();
  for (const name of ['oid', 'affid', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5']) {
    const v = $('link-form').elements[name].value.trim();
    if (v) p.set(name, v);
  }
  try {
    const links = await api(`/api/links?${p}`);
    $('redirect-link').value = links.redirect_link || '';
    $('direct-link').value = links.direct_link || '';
    $('direct-note').textContent = links.direct_link ? '' : (links.direct_link_unavailable || 'No direct link for this offer.');
    $('link-out').hidden = false;
  } catch (e) {
    $('link-out').hidden = true;
    showError('link-error', e.status === 403 ? new Error('Tracking links need the admin token.') : e);
  }
}

// ---- wiring ----

async function refreshAll() {
  showError('app-error', null);
  try {
    await Promise.all([loadOverview(), loadSummary(), loadRows('clicks'), loadRows('conversions')]);
  } catch (e) {
    showError('app-error', e);
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message || '';
  $('token').value = '';
  $('token').focus();
}

async function showApp() {
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').hidden = false;
  $('who').textContent = 'Signed in';
  state.clicks = [];
  state.conversions = [];
  await refreshAll();
}

async function signIn(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $('sign-in-error').textContent = '';
  try {
    await api('/api/reports/summary?group_by=day');
  } catch (e) {
    if (e.status !== 401) $('sign-in-error').textContent = e.message;
    return;
  }
  $('token').value = '';
  await showApp();
}

function pager(kind) {
  $(`${kind}-next`).addEventListener('click', () => {
    const cursor = $(`${kind}-next`).dataset.cursor;
    if (!cursor) return;
    state[kind].push(cursor);
    loadRows(kind).catch((e) => showError('app-error', e));
  });
  $(`${kind}-first`).addEventListener('click', () => {
    state[kind] = [];
    loadRows(kind).catch((e) => showError('app-error', e));
  });
  $(`${kind}-csv`).addEventListener('click', () => {
    const p = rowsQuery(kind);
    p.set('format', 'csv');
    p.set('limit', '100000');
    download(`/api/reports/${kind}?${p}`, `${kind}.csv`).catch((e) => showError('app-error', e));
  });
}

function init() {
  const checks = $('group-by');
  for (const d of DIMENSIONS) {
    const input = el('input', { type: 'checkbox', value: d, id: `g-${d}` });
    if (d === 'day') input.checked = true;
    checks.append(el('label', { for: `g-${d}` }, input, d));
  }
  setDefaultRange();
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    state.clicks = [];
    state.conversions = [];
    refreshAll();
  });
  $('refresh').addEventListener('click', () => refreshAll());
  $('summary-form').addEventListener('submit', (e) => {
    e.preventDefault();
    loadSummary().catch((err) => showError('app-error', err));
  });
  $('summary-csv').addEventListener('click', () => {
    const p = summaryQuery();
    p.set('format', 'csv');
    download(`/api/reports/summary?${p}`, 'summary.csv').catch((e) => showError('app-error', e));
  });
  $('conv-status').addEventListener('change', () => {
    state.conversions = [];
    loadRows('conversions').catch((e) => showError('app-error', e));
  });
  pager('clicks');
  pager('conversions');
  $('link-form').addEventListener('submit', makeLinks);
  document.addEventListener('click', (e) => {
    const target = e.target.closest('button[data-copy]');
    if (!target) return;
    const input = $(target.dataset.copy);
    input.select();
    navigator.clipboard?.writeText(input.value).then(
      () => { target.textContent = 'Copied'; setTimeout(() => { target.textContent = 'Copy'; }, 1500); },
      () => { /* selection is there to copy by hand */ },
    );
  });
  let resizing = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (lastChart && !$('app').hidden) drawChart(...lastChart); }, 150);
  });
  if (token()) showApp();
  else $('token').focus();
}

init();
