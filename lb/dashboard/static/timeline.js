// The events timeline (#/timeline): `/v1/timeline` with filters by kind and service, kept live by the
// stream's `timeline` events. `renderEvents` is shared with the service page.
import { esc, getJson, pill, table, time } from './util.js';

const KINDS = ['endpoint', 'health', 'reload', 'runtime', 'apply.failed', 'validation.failed', 'cert', 'etcd', 'host'];
const MAX_ROWS = 500;

const kindClass = (k) =>
  /failed|down|lost|removed/.test(k) ? 'bad' : /draining|renewed/.test(k) ? 'warn' : /up|restored|registered|issued/.test(k) ? 'ok' : '';

export function renderEvents(events) {
  if (!events || !events.length) return '<span class="muted">no events</span>';
  return table(
    ['time', 'kind', 'service', 'where', 'message'],
    events.map(
      (e) =>
        `<tr class="event" data-kind="${esc(e.kind)}" data-service="${esc(e.service ?? '')}" data-id="${esc(e.id)}"><td class="nowrap">${time(e.at)}</td><td>${pill(e.kind, kindClass(e.kind))}</td>` +
        `<td>${e.service ? `<a href="#/services/${encodeURIComponent(e.service)}">${esc(e.service)}</a>` : ''}</td>` +
        `<td>${esc([e.host, shortEndpoint(e.endpoint), e.route, e.target].filter(Boolean).join(' · '))}</td>` +
        `<td${e.detail ? ` title="${esc(typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail))}"` : ''}>${esc(e.message)}</td></tr>`,
    ),
    'class="events"',
  );
}

/** `endpoints/<service>/<host>/<container id>` → the container id's first 12 characters, as Docker shows it. */
function shortEndpoint(key) {
  if (!key) return '';
  const id = String(key).split('/').pop();
  return id.length > 12 ? id.slice(0, 12) : id;
}

/** `kind` matches a filter that is a comma list of kinds or prefixes (`endpoint` matches `endpoint.*`). */
export function kindMatches(kind, filter) {
  if (!filter) return true;
  return filter.split(',').some((f) => kind === f || kind.startsWith(`${f}.`));
}

export class TimelineView {
  constructor(root) {
    this.root = root;
    this.events = null;
    this.root.innerHTML =
      '<section><h2>Events timeline</h2><div class="filters">' +
      `<label>kind <select id="timeline-kind"><option value="">all</option>${KINDS.map((k) => `<option value="${k}">${k}</option>`).join('')}</select></label>` +
      '<label>service <input id="timeline-service" type="search" placeholder="any service" autocomplete="off"></label>' +
      '</div><div id="timeline-events" class="muted">loading…</div></section>';
    this.kind = this.root.querySelector('#timeline-kind');
    this.service = this.root.querySelector('#timeline-service');
    this.kind.addEventListener('change', () => this.load());
    let typing;
    this.service.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.load(), 250);
    });
  }

  show() {
    return this.load();
  }

  async load() {
    const el = this.root.querySelector('#timeline-events');
    const params = new URLSearchParams({ limit: String(MAX_ROWS) });
    if (this.kind.value) params.set('kind', this.kind.value);
    if (this.service.value.trim()) params.set('service', this.service.value.trim());
    try {
      const answer = await getJson(`v1/timeline?${params}`);
      if (!answer) {
        this.events = null;
        el.innerHTML = '<span class="muted">no timeline data (this router has no /v1/timeline)</span>';
        return;
      }
      this.events = answer.events || [];
      el.innerHTML = renderEvents(this.events);
    } catch (err) {
      el.textContent = String(err);
    }
  }

  /** New events from the stream: those the filters let through go on top. */
  addEvents(events, visible) {
    if (!this.events) return;
    const service = this.service.value.trim();
    const fresh = events.filter((e) => kindMatches(e.kind, this.kind.value) && (!service || e.service === service));
    if (!fresh.length) return;
    const seen = new Set(this.events.map((e) => e.id));
    this.events = [...fresh.filter((e) => !seen.has(e.id)), ...this.events].sort((a, b) => b.id - a.id).slice(0, MAX_ROWS);
    if (visible) this.root.querySelector('#timeline-events').innerHTML = renderEvents(this.events);
  }
}
