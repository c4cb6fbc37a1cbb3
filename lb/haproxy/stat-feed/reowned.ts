import type { Backend, HaproxyDesired } from '../desired.js';

/**
 * The backends whose servers may have new owners since the last desired state looked at: a new
 * object under a name (a plan keeps an unchanged backend's object). Their rows are taken from the
 * mirror again, since a slot can change hands between two reads without its line changing.
 */
export class BackendChanges {
  private last = new Map<string, Backend>();
  private of: HaproxyDesired | undefined;

  since(desired: HaproxyDesired): string[] {
    if (desired === this.of) return [];
    const next = new Map<string, Backend>();
    const changed: string[] = [];
    for (const backend of desired.backends) {
      next.set(backend.name, backend);
      if (this.last.get(backend.name) !== backend) changed.push(backend.name);
    }
    this.last = next;
    this.of = desired;
    return changed;
  }
}
