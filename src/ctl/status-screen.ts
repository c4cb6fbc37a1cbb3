import { type Column, formatTable } from './table.js';

// `fabric status`: one terminal screen of a router's state. Pure: the router's answers in, text out.

export interface StatusProblem {
  severity: string;
  code: string;
  message: string;
  subject?: string;
}

export interface StatusService {
  name: string;
  ready: number;
  total: number;
  /** From the router's traffic figures; null when it has none for this service. */
  requestsPerSecond: number | null;
  /** 5xx share of responses, 0..1; null when unknown. */
  errorRate: number | null;
}

export interface StatusHost {
  host: string;
  alive: boolean;
  agentVersion: string;
  containers: { registered: number; rejected: number } | null;
}

export interface StatusScreen {
  router: string;
  state: string;
  etcd: { watch: string; revision?: number };
  problems: StatusProblem[];
  services: StatusService[];
  /** The last reload (or start) of any target. */
  lastReload: { at: string; target?: string; message: string } | null;
  hosts: StatusHost[] | null;
  issues: number;
}

export interface ScreenOptions {
  width?: number;
  now?: number;
  /** Rows per list before "… N more". */
  maxProblems?: number;
  maxServices?: number;
  maxHosts?: number;
}

const NAME_WIDTH = 32;

export function formatStatusScreen(screen: StatusScreen, options: ScreenOptions = {}): string {
  const width = options.width ?? 80;
  const now = options.now ?? Date.now();
  const lines: string[] = [];
  const etcd = `etcd ${screen.etcd.watch}${screen.etcd.revision !== undefined ? ` (revision ${screen.etcd.revision})` : ''}`;
  lines.push(`fabric router ${screen.router} · ${screen.state} · ${etcd}`);
  lines.push('');

  lines.push(screen.problems.length ? `PROBLEMS (${screen.problems.length})` : 'PROBLEMS: none');
  const problems = [...screen.problems].sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
  for (const p of problems.slice(0, options.maxProblems ?? 8)) lines.push(`  ${p.severity.toUpperCase().padEnd(8)}  ${p.message}`);
  moreLine(problems.length, options.maxProblems ?? 8, lines);
  lines.push('');

  lines.push(`SERVICES (${screen.services.length})`);
  // Those without a ready endpoint first: they are what to look at.
  const services = [...screen.services].sort((a, b) => Number(a.ready > 0) - Number(b.ready > 0) || a.name.localeCompare(b.name));
  const serviceColumns: Column<StatusService>[] = [
    { header: 'name', value: (s) => cut(s.name, NAME_WIDTH) },
    { header: 'ready', value: (s) => `${s.ready}/${s.total}` },
    { header: 'req/s', value: (s) => (s.requestsPerSecond === null ? '-' : rate(s.requestsPerSecond)) },
    { header: '5xx %', value: (s) => (s.errorRate === null ? '-' : percent(s.errorRate)) },
  ];
  const shownServices = services.slice(0, options.maxServices ?? 15);
  lines.push(...indent(formatTable(serviceColumns, shownServices)));
  moreLine(services.length, options.maxServices ?? 15, lines);
  lines.push('');

  const reload = screen.lastReload;
  lines.push(reload ? `LAST RELOAD  ${when(reload.at, now)}: ${reload.message}` : 'LAST RELOAD  none yet');

  if (screen.hosts?.length === 0) lines.push('', 'HOSTS: none (no agent has registered)');
  if (screen.hosts?.length) {
    lines.push('');
    const alive = screen.hosts.filter((h) => h.alive).length;
    lines.push(`HOSTS (${alive} alive of ${screen.hosts.length})`);
    // Gone hosts first, like services without a ready endpoint.
    const hosts = [...screen.hosts].sort((a, b) => Number(a.alive) - Number(b.alive) || a.host.localeCompare(b.host));
    const hostColumns: Column<StatusHost>[] = [
      { header: 'host', value: (h) => cut(h.host, NAME_WIDTH) },
      { header: 'alive', value: (h) => (h.alive ? 'yes' : 'NO') },
      { header: 'containers', value: (h) => (h.containers ? String(h.containers.registered) : '-') },
      { header: 'rejected', value: (h) => (h.containers ? String(h.containers.rejected) : '-') },
      { header: 'agent', value: (h) => h.agentVersion },
    ];
    lines.push(...indent(formatTable(hostColumns, hosts.slice(0, options.maxHosts ?? 8))));
    moreLine(hosts.length, options.maxHosts ?? 8, lines);
  }
  lines.push('');
  lines.push(`ISSUES  ${screen.issues} open${screen.issues ? ' (fabric: GET /v1/status issues)' : ''}`);
  return `${lines.map((line) => cut(line, width)).join('\n')}\n`;
}

function severityRank(severity: string): number {
  return severity === 'critical' ? 0 : severity === 'warning' ? 1 : 2;
}

function moreLine(total: number, max: number, lines: string[]): void {
  if (total > max) lines.push(`  … ${total - max} more`);
}

function indent(table: string): string[] {
  return table
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`);
}

/** At most `width` characters, the cut marked with an ellipsis. */
export function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

function rate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share > 0 && share < 0.001 ? 2 : 1)}%`;
}

/** `2026-12-02 05:09:58Z (12s ago)`: always with the date. */
export function when(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const stamp = `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return `${stamp} (${ago(Math.max(0, now - at))})`;
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
