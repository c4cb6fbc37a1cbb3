// Hosts (#/hosts): every agent's host from `/v1/hosts`: alive (its lease), agent version, containers.
import { esc, getJson, pill, table, time } from './util.js';

export class HostsView {
  constructor(root) {
    this.root = root;
    this.root.innerHTML = '<section><h2>Hosts</h2><div id="hosts" class="muted">loading…</div></section>';
  }

  async show() {
    const el = this.root.querySelector('#hosts');
    try {
      const answer = await getJson('v1/hosts');
      if (!answer) {
        el.innerHTML = '<span class="muted">no host data (this router has no /v1/hosts)</span>';
        return;
      }
      const hosts = answer.hosts || [];
      el.innerHTML = hosts.length
        ? table(
            ['host', 'address', 'alive', 'agent', 'started', 'registered', 'rejected', 'updated'],
            hosts.map(
              (h) =>
                `<tr data-host="${esc(h.host)}"><td><code>${esc(h.host)}</code></td><td>${esc(h.address ?? '')}</td><td>${h.alive ? pill('alive', 'ok') : pill('down', 'bad')}</td>` +
                `<td>${esc(h.agentVersion ?? '–')}</td><td>${time(h.started)}</td><td>${esc(h.containers?.registered ?? '–')}</td>` +
                `<td>${h.containers?.rejected ? pill(h.containers.rejected, 'bad') : esc(h.containers?.rejected ?? '–')}</td><td>${time(h.updatedAt)}</td></tr>`,
            ),
          )
        : '<span class="muted">no hosts registered</span>';
    } catch (err) {
      el.textContent = String(err);
    }
  }
}
