// The service list: a virtualized list (only the rows in view are in the DOM), searchable by service or
// domain, with each service's request-rate and error-rate sparklines from the `/v1/traffic` summary.
import { sparkline } from './charts.js';
import { esc, percent, pill, rate } from './util.js';

const OVERSCAN = 6;

export class ServiceList {
  constructor(container, search, count) {
    this.container = container;
    this.search = search;
    this.count = count;
    this.services = [];
    this.traffic = null;
    this.filtered = [];
    this.query = '';
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    this.rows = document.createElement('div');
    this.rows.className = 'rows';
    container.replaceChildren(this.spacer, this.rows);
    container.addEventListener('scroll', () => this.renderVisible(), { passive: true });
    window.addEventListener('resize', () => this.renderVisible());
    search.addEventListener('input', () => {
      this.query = search.value.trim().toLowerCase();
      this.applyFilter();
      container.scrollTop = 0;
      this.renderVisible();
    });
  }

  /** New services (the snapshot's summary) and/or traffic (`/v1/traffic`); renders the visible rows only. */
  update(services, traffic) {
    if (services) {
      this.services = [...services].sort(byProblemThenName);
      this.applyFilter();
    }
    if (traffic !== undefined) this.traffic = traffic;
    this.renderVisible();
  }

  applyFilter() {
    const q = this.query;
    this.filtered = q ? this.services.filter((s) => String(s.name).toLowerCase().includes(q) || (s.domains || []).some((d) => String(d).toLowerCase().includes(q))) : this.services;
  }

  rowHeight() {
    return window.innerWidth <= 480 ? 76 : 46;
  }

  renderVisible() {
    const h = this.rowHeight();
    const n = this.filtered.length;
    this.count.textContent = this.query ? `${n} of ${this.services.length} services` : `${n} services`;
    this.container.classList.toggle('empty', n === 0);
    this.spacer.style.height = `${n * h}px`;
    this.container.style.height = `${Math.min(Math.max(n, 1) * h + 2, Math.max(240, window.innerHeight * 0.6))}px`;
    if (n === 0) {
      this.rows.innerHTML = `<div class="muted empty-note">${this.services.length ? 'no service matches' : 'no services yet'}</div>`;
      return;
    }
    const first = Math.max(0, Math.floor(this.container.scrollTop / h) - OVERSCAN);
    const last = Math.min(n, Math.ceil((this.container.scrollTop + this.container.clientHeight) / h) + OVERSCAN);
    const html = [];
    for (let i = first; i < last; i += 1) html.push(this.row(this.filtered[i], i * h, h));
    const text = html.join('');
    if (text !== this.lastHtml) {
      this.lastHtml = text;
      this.rows.innerHTML = text;
    }
  }

  row(s, top, h) {
    const ready = Number(s.healthy ?? 0);
    const total = Array.isArray(s.endpoints) ? s.endpoints.length : Number(s.endpoints ?? 0);
    const noReady = ready === 0;
    const t = this.traffic?.services?.[s.name];
    const trafficCell = t
      ? `<span class="spark-cell" title="requests/s, last minutes">${sparkline(t.spark, 'rps', 'requests per second')}<span class="num" data-rps>${rate(t.requestsPerSecond)}/s</span></span>` +
        `<span class="spark-cell" title="5xx/s, last minutes">${sparkline(t.sparkErrors, 'err', '5xx per second')}<span class="num ${t.errorRate > 0 ? 'bad-text' : ''}" data-error-rate>${percent(t.errorRate)} 5xx</span></span>`
      : '<span class="muted no-traffic">no traffic data</span>';
    const domains = (s.domains || []).concat(s.paths || []);
    return (
      `<div class="svc-row${noReady ? ' no-ready' : ''}" data-service="${esc(s.name)}" style="top:${top}px;height:${h}px">` +
      `<a class="svc-name" href="#/services/${encodeURIComponent(s.name)}">${esc(s.name)}</a>` +
      `<span class="svc-ready">${pill(`${ready}/${total} ready`, noReady ? 'bad' : ready < total ? 'warn' : 'ok')}${s.draining ? ` ${pill(`${s.draining} draining`, 'warn')}` : ''}${s.conflicts ? ` ${pill(`${s.conflicts} conflicts`, 'bad')}` : ''}</span>` +
      `<span class="svc-domains" title="${esc(domains.join(' '))}">${domains.map((d) => `<code>${esc(d)}</code>`).join(' ') || '<span class="muted">no domain</span>'}</span>` +
      `<span class="svc-traffic">${trafficCell}</span></div>`
    );
  }
}

function byProblemThenName(a, b) {
  const pa = Number(a.healthy ?? 0) === 0 ? 0 : 1;
  const pb = Number(b.healthy ?? 0) === 0 ? 0 : 1;
  return pa - pb || String(a.name).localeCompare(String(b.name));
}
