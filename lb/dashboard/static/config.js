// The overview's configuration sections: issues, routes, certificates, targets and recent applies.
import { codeList, esc, healthClass, pill, table, time } from './util.js';

function renderRoutes(routes) {
  if (!routes || !routes.length) return '<span class="muted">no routes</span>';
  return table(
    ['route', 'host', 'path', 'backends (weight)'],
    routes.map(
      (r) =>
        `<tr data-route="${esc(r.name)}"><td><code>${esc(r.name)}</code>${r.active === false ? ` ${pill('inactive', 'warn')}` : ''}</td><td>${esc(r.host ?? '')}</td><td>${esc(r.path ?? '/')}</td>` +
        `<td>${(r.backends || [])
          .map(
            (b) =>
              `<a href="#/services/${encodeURIComponent(b.service)}"><code>${esc(b.service)}${b.version ? `@${esc(b.version)}` : ''}</code></a> ${esc(b.weight ?? '')}` +
              (b.effectiveWeight != null ? ` <span class="muted">(${esc(b.effectiveWeight)}% now, ${esc(b.serving ?? '?')}/${esc(b.endpoints ?? '?')} serving)</span>` : ''),
          )
          .join(', ')}</td></tr>`,
    ),
  );
}

// Expiry in days: red under 14 (a renewal should have happened), amber under 30.
function expiry(notAfter) {
  const days = Math.floor((Date.parse(notAfter) - Date.now()) / 86400000);
  if (!Number.isFinite(days)) return '';
  const text = days < 0 ? `expired ${-days} d ago` : `${days} d left`;
  return pill(text, days < 14 ? 'bad' : days < 30 ? 'warn' : 'ok');
}

function renderCerts(certs) {
  const list = (certs && certs.certs) || [];
  const wanted = (certs && certs.wanted) || [];
  if (!list.length && !wanted.length) return '<span class="muted">no certificates</span>';
  const rows = list.map(
    (c) =>
      `<tr data-cert="${esc(c.name)}"><td><code>${esc(c.name)}</code></td><td>${codeList(c.domains)}</td><td>${esc(c.issuer ?? '')}</td>` +
      `<td>${time(c.notAfter)} ${expiry(c.notAfter)}</td><td>${esc(c.source ?? '')}</td><td>${codeList(c.hosts)}</td>` +
      `<td>${c.error ? `${pill('not served', 'bad')} ${esc(c.error)}` : codeList(c.servedBy)}</td></tr>`,
  );
  return (
    table(['certificate', 'domains', 'issuer', 'expires', 'source', 'hosts', 'served by'], rows) +
    (wanted.length ? `<div>waiting for a certificate (auto): ${codeList(wanted.map((w) => w.host))}</div>` : '')
  );
}

function renderTargets(targets) {
  if (!targets || !targets.length) return '<div class="muted">no targets</div>';
  return table(
    ['target', 'state', 'applies', 'reloads', 'runtime updates', 'failures', 'last error'],
    targets.map((t) => {
      const c = t.counters || {};
      return (
        `<tr data-target="${esc(t.name)}"><td><code>${esc(t.name)}</code> <span class="muted">${esc(t.kind)}</span></td><td>${pill(t.state, healthClass(t.state))}</td>` +
        `<td>${esc(c.applies)}</td><td>${esc(c.reloads)}</td><td>${esc(c.runtimeUpdates)}</td><td>${esc(c.failures)}</td>` +
        `<td>${t.lastError ? `<code>${esc(t.lastError.code)}</code> ${esc(t.lastError.message)}` : ''}</td></tr>`
      );
    }),
  );
}

function renderApplies(applies) {
  if (!applies || !applies.length) return '<span class="muted">no applies yet</span>';
  return `<h3>Recent applies</h3>${table(
    ['apply', 'time', 'target', 'revision', 'result', 'action', 'detail', 'ms'],
    applies.slice(0, 20).map(
        (a) =>
          `<tr><td>#${esc(a.applyId)}</td><td>${time(a.at)}</td><td>${esc(a.target)}</td><td>${esc(a.revision)}</td>` +
          `<td>${a.result === 'ok' ? pill('ok', 'ok') : pill('failed', 'bad')}</td><td>${esc(a.action ?? a.code ?? '')}</td>` +
          `<td>${esc(a.detail ?? a.message ?? '')}</td><td>${esc(a.durationMs)}</td></tr>`,
      ),
  )}`;
}

function renderIssues(snapshot) {
  const status = snapshot.status || {};
  const rows = [];
  // Containers an agent rejected come from its host record in etcd: every router shows them.
  for (const i of status.issues || []) {
    if (i.container) rows.push([i.code, `container ${i.container.name} on ${i.container.host}`, i.container.reason, i.container.id]);
    else rows.push([i.code, i.subject, i.message]);
  }
  for (const t of status.targets || []) if (t.lastError) rows.push([t.lastError.code, `target ${t.name}`, t.lastError.message]);
  if (snapshot.agent && snapshot.agent.error) rows.push(['agent', 'agent', snapshot.agent.error]);
  for (const reason of (status.ready && !status.ready.ready && status.ready.reasons) || []) rows.push(['not ready', 'router', reason]);
  if (!rows.length) return '<span class="muted">none</span>';
  return table(
    ['code', 'subject', 'message'],
    rows.map(
      ([code, subject, message, container]) =>
        `<tr class="issue"${container ? ` data-container="${esc(container)}"` : ''}><td><code>${esc(code)}</code></td><td>${esc(subject)}</td><td>${esc(message)}</td></tr>`,
    ),
  );
}

/** Fills #issues, #routes, #certs, #targets and #applies; a section is rewritten only when its text changed. */
export function renderConfig(snapshot) {
  const status = snapshot.status || {};
  setHtml('issues', renderIssues(snapshot));
  setHtml('routes', renderRoutes(snapshot.routes && snapshot.routes.routes));
  setHtml('certs', renderCerts(snapshot.certs));
  setHtml('targets', renderTargets(status.targets));
  setHtml('applies', renderApplies(snapshot.applies));
}

const written = new Map();
function setHtml(id, html) {
  if (written.get(id) === html) return;
  written.set(id, html);
  document.getElementById(id).innerHTML = html;
}
