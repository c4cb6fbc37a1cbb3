// A service's page (#/services/<name>): its traffic over time (uPlot), each endpoint's and each route
// version's share and error rate, the endpoints with health and serving state, and its timeline.
import { timeChart } from './charts.js';
import { renderEvents } from './timeline.js';
import { codeList, esc, getJson, healthClass, ms, percent, pill, rate, table, time } from './util.js';

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const TRAFFIC_EVERY_MS = 5_000;

export class ServicePage {
  constructor(root) {
    this.root = root;
    this.name = undefined;
    this.charts = {};
    this.events = [];
  }

  /** Shows `name`; called again on every hash change to it. */
  async show(name) {
    if (this.name !== name) {
      this.leave();
      this.name = name;
      this.events = [];
      this.root.innerHTML =
        `<section><h2 id="service-title">${esc(name)}</h2><div id="service-summary" class="muted">loading…</div></section>` +
        '<section><h2>Traffic</h2><div id="service-traffic-note" class="muted"></div><div class="charts">' +
        '<div id="chart-requests" class="chart"></div><div id="chart-rtime" class="chart"></div><div id="chart-sessions" class="chart"></div></div></section>' +
        '<section><h2>Shares</h2><h3>Endpoints</h3><div id="service-endpoint-shares" class="muted">no traffic data</div>' +
        '<h3>Route versions</h3><div id="service-version-shares" class="muted">no traffic data</div></section>' +
        '<section><h2>Endpoints</h2><div id="service-endpoints" class="muted">loading…</div></section>' +
        '<section><h2>Timeline</h2><div id="service-timeline" class="muted">loading…</div></section>';
      // The snapshot's summary has counts only: a weight or check change shows within this, or at once when a count moves.
      this.timer = setInterval(() => Promise.all([this.loadTraffic(), this.loadDetail()]), TRAFFIC_EVERY_MS);
      await Promise.all([this.loadDetail(), this.loadTraffic(), this.loadTimeline()]);
    }
  }

  leave() {
    clearInterval(this.timer);
    for (const c of Object.values(this.charts)) c.destroy();
    this.charts = {};
    this.name = undefined;
  }

  /** The service changed in the snapshot (endpoints, health): fetch its detail again. */
  async loadDetail() {
    const name = this.name;
    try {
      const service = await getJson(`v1/services/${encodeURIComponent(name)}`);
      if (name !== this.name) return;
      if (!service) {
        document.getElementById('service-summary').innerHTML = pill('no such service', 'bad');
        document.getElementById('service-endpoints').innerHTML = '<span class="muted">–</span>';
        return;
      }
      this.renderDetail(service);
    } catch (err) {
      document.getElementById('service-summary').textContent = String(err);
    }
  }

  renderDetail(s) {
    this.detail = s;
    const endpoints = s.endpoints || [];
    const ready = s.healthy ?? endpoints.filter((e) => e.serving === 'ready').length;
    document.getElementById('service-summary').innerHTML =
      `${pill(`${ready}/${endpoints.length} ready`, ready === 0 ? 'bad' : ready < endpoints.length ? 'warn' : 'ok')} ${esc(s.mode ?? '')} · ${esc(s.balance ?? '')}` +
      ` · domains: ${codeList(s.domains)}${s.paths && s.paths.length ? ` · paths: ${codeList(s.paths)}` : ''} · VIP: ${s.vip ? `<code>${esc(s.vip)}</code>` : '<span class="muted">none</span>'}` +
      ((s.conflicts || []).length ? `<div>${s.conflicts.map((c) => `${pill(c.code, 'bad')} ${esc(c.message)}`).join('<br>')}</div>` : '');
    document.getElementById('service-endpoints').innerHTML = endpoints.length
      ? table(['endpoint', 'host', 'address', 'version', 'weight', 'health', 'state', 'serving'], endpoints.map(endpointRow))
      : `<div class="no-ready">${pill('no endpoints', 'bad')}</div>`;
    if (!s.traffic && !this.trafficSeen) this.renderShares(null);
  }

  async loadTraffic() {
    const name = this.name;
    if (!name) return;
    let traffic = null;
    try {
      traffic = await getJson(`v1/services/${encodeURIComponent(name)}/traffic`);
    } catch {
      traffic = null;
    }
    if (name !== this.name) return;
    this.trafficSeen = Boolean(traffic);
    this.renderTraffic(traffic);
  }

  renderTraffic(t) {
    const note = document.getElementById('service-traffic-note');
    const series = (t && t.series) || [];
    if (!t || !series.length) {
      note.textContent = t ? 'no samples yet' : 'no traffic data (this router samples no traffic for this service)';
      for (const c of Object.values(this.charts)) c.destroy();
      this.charts = {};
      for (const id of ['chart-requests', 'chart-rtime', 'chart-sessions']) document.getElementById(id).innerHTML = '';
      this.renderShares(t);
      return;
    }
    note.innerHTML = `now ${rate(t.requestsPerSecond)} req/s · ${percent(t.errorRate)} 5xx · ${ms(t.responseTimeMs)} · ${esc(t.sessions ?? '–')} sessions · counted since ${time(t.since)} · sampled ${time(t.sampledAt)}`;
    const at = series.map((p) => Date.parse(p.at) / 1000);
    const requests = [at, ...CLASSES.map((c) => series.map((p) => p[c] ?? null))];
    const rtime = [at, series.map((p) => p.responseTimeMs ?? null)];
    const sessions = [at, series.map((p) => p.sessions ?? null)];
    this.chart('requests', 'Requests/s by status class', CLASSES.map((label) => ({ label })), requests);
    this.chart('rtime', 'Response time (ms)', [{ label: 'ms', color: '#2b6cb0' }], rtime);
    this.chart('sessions', 'Sessions', [{ label: 'sessions', color: '#6b46c1' }], sessions);
    // For tests and curious eyes: the figures the request chart draws.
    const el = document.getElementById('chart-requests');
    el.dataset.points = String(series.length);
    el.dataset.maxRps = String(Math.max(0, ...series.map((p) => p.requestsPerSecond ?? 0)));
    el.dataset.lastAt = series[series.length - 1].at;
    this.renderShares(t);
  }

  chart(key, title, series, data) {
    if (this.charts[key]) this.charts[key].update(data);
    else this.charts[key] = timeChart(document.getElementById(`chart-${key}`), title, series, data);
  }

  renderShares(t) {
    const endpoints = (t && t.endpoints) || [];
    const versions = (t && t.versions) || [];
    document.getElementById('service-endpoint-shares').innerHTML = endpoints.length
      ? table(
          ['endpoint', 'share', 'req/s', '5xx', 'error rate', 'response', 'sessions'],
          endpoints.map(
            (e) =>
              `<tr data-share-endpoint="${esc(e.endpoint)}"><td>${this.endpointLabel(e.endpoint)}</td><td>${shareBar(e.share)}</td><td>${rate(e.requestsPerSecond)}</td>` +
              `<td>${esc(e['5xx'] ?? '–')}</td><td>${errorCell(e.errorRate)}</td><td>${ms(e.responseTimeMs)}</td><td>${esc(e.sessions ?? '–')}</td></tr>`,
          ),
        )
      : '<span class="muted">no traffic data</span>';
    document.getElementById('service-version-shares').innerHTML = versions.length
      ? table(
          ['route', 'backend', 'share', 'req/s', '5xx', 'error rate'],
          versions.map(
            (v) =>
              `<tr data-share-version="${esc(v.version ?? '')}" data-route="${esc(v.route)}"><td><code>${esc(v.route)}</code></td><td><code>${esc(v.service)}${v.version ? `@${esc(v.version)}` : ''}</code></td>` +
              `<td>${shareBar(v.share)}</td><td>${rate(v.requestsPerSecond)}</td><td>${esc(v['5xx'] ?? '–')}</td><td>${errorCell(v.errorRate)}</td></tr>`,
          ),
        )
      : '<span class="muted">no traffic data (no route sends to this service, or none sampled)</span>';
  }

  /** A traffic endpoint id (`<host>/<container>`, or the whole key) as the endpoint's name, from the detail. */
  endpointLabel(id) {
    const key = String(id ?? '');
    const match = (this.detail?.endpoints || []).find((e) => e.key === key || `${e.host}/${e.container}` === key || (e.container && key.endsWith(e.container)));
    return match ? `<code>${esc(match.name)}</code> <span class="muted">${esc(match.host)}</span>` : `<code title="${esc(key)}">${esc(shortKey(key))}</code>`;
  }

  async loadTimeline() {
    const name = this.name;
    const el = document.getElementById('service-timeline');
    try {
      const answer = await getJson(`v1/timeline?service=${encodeURIComponent(name)}&limit=100`);
      if (name !== this.name) return;
      if (!answer) {
        el.innerHTML = '<span class="muted">no timeline data (this router has no /v1/timeline)</span>';
        this.events = null;
        return;
      }
      this.events = answer.events || [];
      el.innerHTML = renderEvents(this.events);
    } catch (err) {
      el.textContent = String(err);
    }
  }

  /** New events from the stream (newest first): this service's go on top. */
  addEvents(events) {
    if (!this.name || !this.events) return;
    const mine = events.filter((e) => e.service === this.name);
    if (!mine.length) return;
    const seen = new Set(this.events.map((e) => e.id));
    this.events = [...mine.filter((e) => !seen.has(e.id)), ...this.events].sort((a, b) => b.id - a.id).slice(0, 200);
    document.getElementById('service-timeline').innerHTML = renderEvents(this.events);
  }
}

function endpointRow(e) {
  // The router's active check (healthCheck) when there is one, else Docker's HEALTHCHECK (health).
  const health = e.effectiveHealth ?? e.health;
  const check = e.healthCheck && e.healthCheck.state ? e.healthCheck : null;
  const checkTitle = check ? `${check.kind ?? ''} ${check.target ?? ''} ${check.lastError ?? ''}`.trim() : '';
  return (
    `<tr data-endpoint="${esc(e.name)}"><td><code>${esc(e.name)}</code></td><td>${esc(e.host)}</td>` +
    `<td><code>${esc(e.address)}:${esc(e.port)}</code></td><td>${esc(e.version ?? '–')}</td><td>${esc(e.weight)}</td>` +
    `<td title="${esc(checkTitle)}">${pill(health ?? '?', healthClass(health))}${check ? ` ${pill(`check ${check.state}`, healthClass(check.state))}` : ''}</td>` +
    `<td>${e.state === 'draining' ? pill('draining', 'warn') : pill(e.state ?? '?', healthClass(e.state))}</td>` +
    `<td>${e.serving ? pill(e.serving, healthClass(e.serving)) : ''}</td></tr>`
  );
}

function shareBar(share) {
  const p = typeof share === 'number' && Number.isFinite(share) ? Math.max(0, Math.min(1, share)) : 0;
  return `<span class="share" title="${percent(p)}"><span class="share-fill" style="width:${(p * 100).toFixed(1)}%"></span></span> <span class="num" data-share>${percent(share)}</span>`;
}

const errorCell = (r) => `<span class="${typeof r === 'number' && r > 0 ? 'bad-text' : ''}" data-error-rate>${percent(r)}</span>`;

/** An endpoint key (…/<host>/<container>) shortened to host/container, the container id cut as Docker shows it. */
function shortKey(key) {
  const parts = String(key ?? '').split('/');
  return parts.length >= 2 ? `${parts[parts.length - 2]}/${parts[parts.length - 1].slice(0, 12)}` : String(key ?? '');
}
