// Small helpers shared by the dashboard's views: escaping, pills, times with dates, numbers, fetching.

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
export const $ = (id) => document.getElementById(id);
export const pill = (text, cls) => `<span class="pill ${cls || ''}">${esc(text)}</span>`;
export const codeList = (items) =>
  items && items.length ? items.map((i) => `<code>${esc(i)}</code>`).join(', ') : '<span class="muted">–</span>';
export const table = (head, rows, attrs = '') =>
  `<div class="scroll-x"><table ${attrs}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;

const GOOD = new Set(['healthy', 'none', 'up', 'ok', 'ready', 'applied', 'watching']);
const SOSO = new Set(['starting', 'unknown', 'draining', 'drain', 'listing', 'pending', 'applying']);
export const healthClass = (h) => (GOOD.has(h) ? 'ok' : SOSO.has(h) ? 'warn' : 'bad');

/** Local date and time, the ISO form in a tooltip: every time on the page has its date. */
export function time(iso) {
  if (iso == null || iso === '') return '<span class="muted">–</span>';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return esc(iso);
  return `<time datetime="${esc(d.toISOString())}" title="${esc(d.toISOString())}">${esc(localDateTime(d))}</time>`;
}

export function localDateTime(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function rate(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function percent(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  const p = v * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(v >= 10 ? 0 : 1)} ms` : '–');

// The router's API token (its --api-token-file), given once: as `?token=` in the address (then taken out of
// it) or at a prompt after a 401. Kept in sessionStorage, so it leaves with the tab.
const TOKEN_KEY = 'fabric-api-token';

function apiToken() {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/**
 * After a 401 with `used`: asks for the token; false when the operator cancels. Calls that failed
 * together (a first load fetches several things) ask once: a token changed meanwhile is just tried.
 */
function askToken(used) {
  if ((sessionStorage.getItem(TOKEN_KEY) ?? '') !== used) return true;
  const token = window.prompt("This router's API needs its token (the contents of its --api-token-file):")?.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  return Boolean(token);
}

/** `fetch` with the token as a Bearer header; a 401 asks for the token and tries again. */
async function apiFetch(url) {
  for (;;) {
    const token = apiToken();
    const headers = { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const response = await fetch(url, { headers });
    if (response.status !== 401 || !askToken(token)) return response;
  }
}

/** The event stream's address: EventSource cannot send headers, so the token goes as `?token=` (accepted there only). */
export async function eventsUrl() {
  await apiFetch('v1/status');
  const token = apiToken();
  return token ? `v1/events?token=${encodeURIComponent(token)}` : 'v1/events';
}

/** GET a JSON answer of the router's API; a 404 (an API this router does not have yet) is `null`. */
export async function getJson(url) {
  const response = await apiFetch(url);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** Runs `fn` at most once per `intervalMs`, the last call winning (a trailing call is never lost). */
export function throttle(fn, intervalMs) {
  let last = 0;
  let timer;
  return () => {
    if (timer) return;
    const wait = last + intervalMs - Date.now();
    timer = setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn();
    }, Math.max(0, wait));
  };
}
