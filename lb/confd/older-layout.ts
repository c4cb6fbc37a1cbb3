import { type KeyValues, MemoryKeyValues } from '../template/kv.js';

/**
 * confd-style templates walk raw keys (`getvs /fabric/endpoints/api/*\/*`, `/fabric/hosts/*`).
 * Agents now write `…/hosts/<host>/endpoints/<service>/<id>` and `…/hosts/<host>/info`; for the
 * release that still reads the older layout, a template sees each such key under its older
 * name too (`…/endpoints/<service>/<host>/<id>`, `…/hosts/<host>`), so it renders as before
 * whichever layout an agent writes. A key really written in the older layout wins.
 */

const HOST_ENDPOINT = /^(.*\/)?hosts\/([^/]+)\/endpoints\/([^/]+)\/([^/]+)$/;
const HOST_INFO = /^(.*\/)?hosts\/([^/]+)\/info$/;

/** Pure: the prefixes to follow so that older-layout names can be shown: `…/endpoints…` needs `…/hosts/` too. */
export function withHostScopedSources(prefixes: string[]): string[] {
  const extra = prefixes.flatMap((prefix) => {
    const at = prefix.lastIndexOf('/endpoints');
    const next = prefix[at + '/endpoints'.length];
    return at >= 0 && (next === undefined || next === '/') ? [`${prefix.slice(0, at + 1)}hosts/`] : [];
  });
  return [...new Set([...prefixes, ...extra])];
}

/** Pure: the keys, plus each host-scoped endpoint and host record under its older-layout name (when not there already). */
export function withOlderLayoutNames(kv: KeyValues): KeyValues {
  const entries = kv.list('');
  const present = new Set(entries.map(([key]) => key));
  const added: Array<[string, string]> = [];
  for (const [key, value] of entries) {
    const older = olderName(key);
    if (older && !present.has(older)) {
      present.add(older);
      added.push([older, value]);
    }
  }
  return added.length ? new MemoryKeyValues([...entries, ...added]) : kv;
}

function olderName(key: string): string | undefined {
  const endpoint = HOST_ENDPOINT.exec(key);
  if (endpoint) return `${endpoint[1] ?? ''}endpoints/${endpoint[3]}/${endpoint[2]}/${endpoint[4]}`;
  const info = HOST_INFO.exec(key);
  return info ? `${info[1] ?? ''}hosts/${info[2]}` : undefined;
}
