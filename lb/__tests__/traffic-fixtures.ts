import type { Backend, HaproxyDesired } from '../haproxy/desired.js';
import { readStatTable } from '../haproxy/stat-csv.js';
import { packedAt, packedColumns, packRow, type StatDelta, slotName } from '../haproxy/stat-feed/delta.js';
import { StatDiffer } from '../haproxy/stat-feed/differ.js';
import { StatMirror } from '../haproxy/stat-feed/mirror.js';
import type { RouteModel } from '../routes/model.js';
import { HaproxyTrafficReader } from '../traffic/haproxy-reader.js';
import { TRAFFIC_STAT_COLUMNS } from '../traffic/stat.js';
import type { TrafficStore } from '../traffic/store.js';

/** Test fixtures for lb/traffic: a desired state of services with slots, and `show stat` text over it. */
export function desiredOf(services: Record<string, string[]>, extra: Backend[] = []): HaproxyDesired {
  const backends: Backend[] = Object.entries(services).map(([service, endpoints]) => ({
    name: `svc_${service}`,
    service,
    mode: 'http',
    balance: 'roundrobin',
    servers: endpoints.map((endpoint, i) => ({ name: `s${i + 1}`, endpoint, address: '127.0.0.1', port: 8000 + i, weight: 1, state: 'ready' })),
  }));
  return { backends: [...backends, ...extra], hostMap: [], pathMap: [] };
}

export interface StatLine {
  backend: string;
  server: string;
  req?: number;
  c2xx?: number;
  c5xx?: number;
  scur?: number;
  qcur?: number;
  rtime?: number;
  econ?: number;
  bin?: number;
  bout?: number;
}

const HEADER =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,req_tot,rtime,';

/** `show info;show stat` as HAProxy answers it: info lines, an empty line, the CSV, an empty line. */
export function statAnswer(lines: StatLine[], info: { pid: number; uptime: number } = { pid: 100, uptime: 1 }): string {
  const rows = lines.map((l) =>
    [
      l.backend,
      l.server,
      l.qcur ?? 0,
      0,
      l.scur ?? 0,
      0,
      '',
      l.req ?? 0,
      l.bin ?? 0,
      l.bout ?? 0,
      0,
      0,
      '',
      l.econ ?? 0,
      0,
      0,
      0,
      'UP',
      0,
      l.c2xx ?? 0,
      0,
      0,
      l.c5xx ?? 0,
      0,
      l.req ?? 0,
      l.rtime ?? 0,
      '',
    ].join(','),
  );
  return `Name: HAProxy\nVersion: 2.6.12\nPid: ${info.pid}\nUptime_sec: ${info.uptime}\n\n${HEADER}\n${rows.join('\n')}\n\n`;
}

/**
 * One HAProxy's answers fed to a store the way the router does (lb/haproxy/stat-feed's differ and
 * mirror, then lb/traffic/haproxy-reader.ts), with the clock the test gives.
 */
export class StatFixture {
  private readonly differ = new StatDiffer(TRAFFIC_STAT_COLUMNS);
  private readonly mirror = new StatMirror();
  private reader: HaproxyTrafficReader | undefined;
  private desired: HaproxyDesired | undefined;
  private listed = new Set<string>();
  routes: RouteModel[] = [];

  /** `dense`: every line is handed over at every read, as if each had changed (the differ left out). `stepRows`: the reader's. */
  constructor(
    private readonly startedAt: number,
    private readonly dense = false,
    private readonly stepRows?: number,
  ) {}

  /** A read fed at once: with fewer lines than the reader's step, ingest takes no turn of the event loop. */
  feed(store: TrafficStore, text: string, desired: HaproxyDesired, at: number): void {
    void this.feedInSteps(store, text, desired, at);
  }

  /** A read fed as the router does, in steps of `stepRows` lines with turns between. */
  feedInSteps(store: TrafficStore, text: string, desired: HaproxyDesired, at: number): Promise<void> {
    this.desired = desired;
    this.reader ??= new HaproxyTrafficReader(
      { name: 'haproxy-0', adminSocket: '', appliedDesired: () => this.desired },
      store,
      () => this.routes,
      this.startedAt,
      this.stepRows,
    );
    const delta = this.dense ? this.denseDelta(text) : this.differ.diff(text);
    if (!delta) throw new Error('not a show stat answer');
    return this.reader.ingest(this.mirror.apply(delta), this.mirror, at);
  }

  private denseDelta(text: string): StatDelta {
    const table = readStatTable(text, TRAFFIC_STAT_COLUMNS)!;
    const listed = new Set(table.rows.map((f) => slotName(f[table.at.pxname]!, f[table.at.svname]!)));
    const gone = [...this.listed].filter((slot) => !listed.has(slot));
    this.listed = listed;
    const columns = packedColumns(TRAFFIC_STAT_COLUMNS);
    const changed = table.rows.map((f) => packRow(f, columns, table.at));
    return { preamble: text.slice(0, text.indexOf('# pxname')), at: packedAt(columns, table.at), changed, gone, full: false, rows: table.rows.length };
  }
}
