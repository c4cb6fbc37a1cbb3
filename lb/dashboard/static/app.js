// The dashboard's entry: one event stream (/v1/events: `snapshot`, `traffic`, `timeline`), hash routes
// (#/ services, #/services/<name>, #/timeline, #/hosts) and throttled rendering: a burst of events at
// 1,000 services redraws the visible rows once, not once per event.
import { renderConfig } from './config.js';
import { HostsView } from './hosts.js';
import { problemsOf, renderBadge, renderBanner } from './problems.js';
import { ServicePage } from './service.js';
import { ServiceList } from './services.js';
import { TimelineView } from './timeline.js';
import { $, esc, eventsUrl, getJson, throttle, time } from './util.js';

const RENDER_EVERY_MS = 500;
const HOSTS_EVERY_MS = 5_000;

const state = { snapshot: null, traffic: null, connected: false, view: 'home' };
const list = new ServiceList($('service-list'), $('search'), $('service-count'));
const servicePage = new ServicePage($('view-service'));
const timeline = new TimelineView($('view-timeline'));
const hosts = new HostsView($('view-hosts'));
let hostsTimer;
let lastServiceSummary = '';

const render = throttle(() => {
  const snapshot = state.snapshot || {};
  const status = snapshot.status || {};
  renderBanner($('problems'), problemsOf(snapshot, state.connected));
  renderBadge($('conn'), state.connected, status);
  const services = snapshot.services?.services || [];
  const endpoints = services.reduce((n, s) => n + (Array.isArray(s.endpoints) ? s.endpoints.length : Number(s.endpoints ?? 0)), 0);
  $('summary').innerHTML = `revision ${esc(snapshot.revision ?? snapshot.services?.revision ?? '–')} · ${services.length} services · ${endpoints} endpoints · etcd ${esc(status.etcd?.watch ?? '?')} · updated ${time(new Date().toISOString())}`;
  if (state.view === 'home') {
    list.update(services, state.traffic);
    renderConfig(snapshot);
  }
  if (state.view === 'service') refreshServiceIfChanged(services);
}, RENDER_EVERY_MS);

/** The service page fetches its detail again when its line in the snapshot's summary changed. */
function refreshServiceIfChanged(services) {
  const mine = JSON.stringify(services.find((s) => s.name === servicePage.name) ?? null);
  if (mine === lastServiceSummary) return;
  lastServiceSummary = mine;
  servicePage.loadDetail();
}

function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [first, ...rest] = hash.split('/');
  const view = first === 'services' && rest.length ? 'service' : first === 'timeline' ? 'timeline' : first === 'hosts' ? 'hosts' : 'home';
  state.view = view;
  for (const name of ['home', 'service', 'timeline', 'hosts']) $(`view-${name}`).hidden = name !== view;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === (view === 'service' ? 'home' : view));
  clearInterval(hostsTimer);
  if (view !== 'service') servicePage.leave();
  if (view === 'service') {
    lastServiceSummary = '';
    servicePage.show(rest.join('/'));
  } else if (view === 'timeline') timeline.show();
  else if (view === 'hosts') {
    hosts.show();
    hostsTimer = setInterval(() => hosts.show(), HOSTS_EVERY_MS);
  }
  render();
}

async function connect() {
  const source = new EventSource(await eventsUrl());
  source.onopen = () => {
    state.connected = true;
    render();
  };
  source.onerror = () => {
    state.connected = false;
    render();
  };
  source.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data);
    // Sent only when it changed: a snapshot without it keeps the last service list.
    if (!snapshot.services && state.snapshot) snapshot.services = state.snapshot.services;
    state.snapshot = snapshot;
    render();
  });
  source.addEventListener('traffic', (event) => {
    const traffic = JSON.parse(event.data);
    // After the first, the stream sends only the services that changed: merge them in.
    if (traffic.partial && state.traffic) {
      const services = { ...state.traffic.services, ...traffic.services };
      for (const name of traffic.removed || []) delete services[name];
      state.traffic = { sampledAt: traffic.sampledAt, services };
    } else state.traffic = traffic;
    render();
  });
  source.addEventListener('timeline', (event) => {
    const events = JSON.parse(event.data).events || [];
    timeline.addEvents(events, state.view === 'timeline');
    servicePage.addEvents(events);
  });
}

async function loadTraffic() {
  try {
    const traffic = await getJson('v1/traffic');
    if (traffic && !state.traffic) {
      state.traffic = traffic;
      render();
    }
  } catch {
    // No traffic sampling on this router: the list says "no traffic data".
  }
}

window.addEventListener('hashchange', route);
connect();
loadTraffic();
route();
