import { Command } from 'commander';
import { describeError, FabricError } from '../errors.js';
import { option, resolveOptions } from '../options.js';
import { readSecretFile } from '../secret-file.js';
import { writeStd } from '../stdio.js';
import { formatStatusScreen, type StatusHost, type StatusScreen, type StatusService } from './status-screen.js';

export const DEFAULT_ROUTER = 'http://127.0.0.1:7080';
const WATCH_INTERVAL_MS = 2_000;
const REQUEST_TIMEOUT_MS = 5_000;

/** `fabric status [--router URL] [--watch]`: one screen of a router's state. */
export function statusCommand(): Command {
  return new Command('status')
    .description('one screen of a router: problems first, services (ready/total, req/s, 5xx %), last reload, hosts, open issues')
    .addOption(option('--router <url>', "the router's API", DEFAULT_ROUTER))
    .addOption(option('--api-token-file <file>', "the router's API token (its --api-token-file), sent as a Bearer token"))
    .addOption(option('--watch', `redraw every ${WATCH_INTERVAL_MS / 1000} s until interrupted`, false))
    .action(async (_opts, cmd: Command) => runStatus(cmd));
}

async function runStatus(command: Command): Promise<void> {
  const { values } = resolveOptions(command);
  const router = String(values.router).replace(/\/+$/, '');
  const token = typeof values.apiTokenFile === 'string' ? readSecretFile(values.apiTokenFile, '--api-token-file') : undefined;
  const width = () => (process.stdout.isTTY ? process.stdout.columns || 80 : 80);
  if (values.watch !== true) {
    writeStd('stdout', formatStatusScreen(await readStatus(router, token), { width: width() }));
    return;
  }
  for (;;) {
    const text = await readStatus(router, token).then(
      (screen) => formatStatusScreen(screen, { width: width() }),
      (err: unknown) => `fabric status: ${describeError(err)} (retrying every ${WATCH_INTERVAL_MS / 1000} s)\n`,
    );
    // Clear the screen and home the cursor, then the whole screen at once: no flicker of half a frame.
    writeStd('stdout', `\u001b[2J\u001b[H${text}`);
    await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS));
  }
}

/** The router's answers, as the screen shows them. Endpoints another version of the router lacks show as unknown. */
export async function readStatus(router: string, token?: string): Promise<StatusScreen> {
  const get = (path: string, optional = false) => getJson(router, path, optional, token);
  const [status, services, hosts, traffic, reloads] = await Promise.all([
    get('/v1/status'),
    get('/v1/services'),
    get('/v1/hosts', true),
    get('/v1/traffic', true),
    get('/v1/timeline?kind=reload&limit=1', true),
  ]);
  return statusScreen(router, status, services, hosts, traffic, reloads);
}

// biome-ignore lint/suspicious/noExplicitAny: the router's JSON, read defensively field by field
type Json = any;

/** Pure: the router's JSON answers → the screen's data. */
export function statusScreen(router: string, status: Json, services: Json, hosts: Json, traffic: Json, reloads: Json): StatusScreen {
  const summary = traffic?.services ?? {};
  const serviceRows: StatusService[] = (services?.services ?? []).map((s: Json) => {
    const figures = summary[s.name] ?? s.traffic ?? null;
    return {
      name: String(s.name),
      ready: Number(s.healthy ?? 0),
      total: Array.isArray(s.endpoints) ? s.endpoints.length : 0,
      requestsPerSecond: typeof figures?.requestsPerSecond === 'number' ? figures.requestsPerSecond : null,
      errorRate: typeof figures?.errorRate === 'number' ? figures.errorRate : null,
    };
  });
  const hostRows: StatusHost[] | null = hosts
    ? (hosts.hosts ?? []).map((h: Json) => ({
        host: String(h.host),
        alive: h.alive === true,
        agentVersion: String(h.agentVersion ?? ''),
        containers: h.containers ?? null,
      }))
    : null;
  return {
    router,
    state: String(status?.state ?? 'unknown'),
    etcd: { watch: String(status?.etcd?.watch ?? 'unknown'), ...(typeof status?.etcd?.revision === 'number' ? { revision: status.etcd.revision } : {}) },
    problems: Array.isArray(status?.problems) ? status.problems : [],
    services: serviceRows,
    lastReload: lastReload(status, reloads),
    hosts: hostRows,
    issues: Array.isArray(status?.issues) ? status.issues.length : 0,
  };
}

/** The timeline's last reload; from a router without a timeline, the targets' last applies that were reloads. */
function lastReload(status: Json, reloads: Json): StatusScreen['lastReload'] {
  const event = reloads?.events?.[0];
  if (event) return { at: event.at, target: event.target, message: event.message };
  const applies = ((status?.targets ?? []) as Json[])
    .filter((t) => t.lastApply && (t.lastApply.action === 'reload' || t.lastApply.action === 'start'))
    .map((t) => ({ at: t.lastApply.at as string, target: t.name as string, message: `${t.name}: ${t.lastApply.action} at revision ${t.lastApply.revision}` }))
    .sort((a, b) => b.at.localeCompare(a.at));
  return applies[0] ?? null;
}

async function getJson(router: string, path: string, optional: boolean, token: string | undefined): Promise<Json> {
  let response: Response;
  const headers: Record<string, string> = { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  try {
    response = await fetch(`${router}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), headers });
  } catch (err) {
    throw new FabricError('FABRIC_ERR_ROUTER_UNAVAILABLE', `${router}${path}: ${describeError(err)}`);
  }
  if (optional && response.status === 404) return null;
  if (response.status === 401) throw new FabricError('FABRIC_ERR_UNAUTHORIZED', `${router}${path}: HTTP 401: pass the router's token with --api-token-file`);
  if (!response.ok) throw new FabricError('FABRIC_ERR_ROUTER_UNAVAILABLE', `${router}${path}: HTTP ${response.status}`);
  try {
    return await response.json();
  } catch (err) {
    throw new FabricError('FABRIC_ERR_ROUTER_UNAVAILABLE', `${router}${path}: not JSON: ${describeError(err)}`);
  }
}
