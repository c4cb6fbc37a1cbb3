// Problems first and loud: the banner at the top of every view and the connection badge. The router's
// own list (`/v1/status` `problems`) when it has one; else the same facts read from the older fields.
import { esc } from './util.js';

const SEVERITY_ORDER = { critical: 0, warning: 1 };
const MAX_NO_READY = 5;

/** etcd is reachable when the router's watch of the keyspace is live. */
export function etcdDown(status) {
  const watch = status?.etcd?.watch;
  if (watch && watch !== 'watching' && watch !== 'listing' && watch !== 'idle') return true;
  return (status?.problems || []).some((p) => p.severity === 'critical' && /etcd/i.test(`${p.code} ${p.message}`));
}

/** The problems to show, most severe first. */
export function problemsOf(snapshot, connected) {
  const status = snapshot?.status || {};
  const list = [];
  if (!connected) list.push({ severity: 'critical', code: 'dashboard.disconnected', message: 'No connection to the router: what you see may be out of date.' });
  if (Array.isArray(status.problems)) {
    list.push(...status.problems);
    // The router's list predates a problem it does not know yet: etcd seen down through the watch state.
    if (etcdDown(status) && !list.some((p) => /etcd/i.test(`${p.code} ${p.message}`))) list.push(etcdProblem(status));
  } else {
    if (etcdDown(status)) list.push(etcdProblem(status));
    for (const t of status.targets || []) {
      if (t.state === 'failed') list.push({ severity: 'critical', code: t.lastError?.code ?? 'target.failed', subject: `target ${t.name}`, message: `target ${t.name} fails its applies: ${t.lastError?.message ?? ''}` });
    }
    const noReady = (snapshot?.services?.services || []).filter((s) => (s.healthy ?? 0) === 0);
    for (const s of noReady.slice(0, MAX_NO_READY)) {
      list.push({ severity: 'warning', code: 'service.no_ready_endpoint', subject: `services/${s.name}`, message: `service ${s.name} has no ready endpoint (${s.endpoints ?? 0} registered)` });
    }
    if (noReady.length > MAX_NO_READY) list.push({ severity: 'warning', code: 'service.no_ready_endpoint', message: `and ${noReady.length - MAX_NO_READY} more services with no ready endpoint` });
  }
  return list.sort((a, b) => (SEVERITY_ORDER[a.severity] ?? 2) - (SEVERITY_ORDER[b.severity] ?? 2));
}

function etcdProblem(status) {
  const detail = status.etcd?.error ? `: ${status.etcd.error.message ?? status.etcd.error}` : '';
  return { severity: 'critical', code: 'etcd.unreachable', subject: 'etcd', message: `etcd is unreachable (watch ${status.etcd?.watch ?? '?'})${detail}. The router keeps serving its last configuration; changes are not seen.` };
}

export function renderBanner(el, problems) {
  if (!problems.length) {
    el.hidden = true;
    el.innerHTML = '';
    el.dataset.severity = 'none';
    return;
  }
  const worst = problems[0].severity === 'critical' ? 'critical' : 'warning';
  el.hidden = false;
  el.dataset.severity = worst;
  el.className = `banner ${worst}`;
  el.innerHTML = `<ul>${problems
    .map(
      (p) =>
        `<li class="problem ${esc(p.severity)}" data-code="${esc(p.code)}"><span class="sev">${p.severity === 'critical' ? 'CRITICAL' : 'WARNING'}</span> <strong>${esc(p.message)}</strong>` +
        ` <code class="muted">${esc(p.code)}</code>${p.subject && p.subject.startsWith('services/') ? ` <a href="#/services/${encodeURIComponent(p.subject.slice(9))}">open</a>` : ''}</li>`,
    )
    .join('')}</ul>`;
}

/** The badge: green "live" only while the stream is open and etcd answers. */
export function renderBadge(el, connected, status) {
  if (!connected) {
    el.textContent = 'reconnecting';
    el.className = 'pill bad';
  } else if (etcdDown(status)) {
    el.textContent = 'etcd down';
    el.className = 'pill bad';
  } else {
    el.textContent = 'live';
    el.className = 'pill ok';
  }
}
