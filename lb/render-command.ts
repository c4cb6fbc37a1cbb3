import { Command } from 'commander';
import { type Logger, pino } from 'pino';
import { z } from 'zod';
import { describeError, FabricError } from '../src/errors.js';
import { connectEtcd, type EtcdConnection, listPrefix } from '../src/etcd.js';
import { type EtcdTarget, explainEtcdError, grpcReason } from '../src/etcd-errors.js';
import { LOG_LEVELS, type LogLevel } from '../src/log.js';
import { addEtcdOptions, etcdOptions, option, parseOrThrow, resolveOptions } from '../src/options.js';
import { ROUTER_CONFIG_KEYS, type RouterConfig, routerConfigSchema } from './config.js';
import { deriveModel, type Model } from './model.js';
import { KeyStore } from './store.js';
import type { SyncMode } from './sync.js';
import type { ApplyReport, Target } from './target.js';
import { createTargets } from './targets.js';
import { createVault } from './tls/create.js';

/**
 * `fabric render`: confd's `-onetime`. One snapshot of the fabric keyspace
 * (and of each target's own keys), every configured target applied once
 * (render → check → swap → reload), then exit: non-zero when any target
 * failed, each failure printed with its code. `--noop` prints the diffs and
 * writes nothing; `--sync-only` writes without check and reload.
 */
export function renderCommand(): Command {
  const command = new Command('render').description("apply every configured target once and exit (confd's -onetime)");
  addEtcdOptions(command)
    .addOption(option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')} (logs go to stderr)`, 'warn'))
    .addOption(option('--domain <domain>', 'root domain for automatic <service>.<domain> names'))
    .addOption(option('--once', 'apply once and exit (the only way render runs; `fabric router` is the long-running form)'))
    .addOption(option('--noop', 'print what would change (unified diffs); write nothing, run nothing'))
    .addOption(option('--sync-only', 'write the files, skip check and reload commands'));
  return command.action(async (_opts, cmd: Command) => runRender(cmd));
}

interface Outcome {
  target: Target;
  report?: ApplyReport;
  error?: unknown;
}

async function runRender(command: Command): Promise<void> {
  const { values, file } = resolveOptions(command, { fileKeys: ROUTER_CONFIG_KEYS });
  const mode = syncMode(values);
  const config = parseOrThrow(routerConfigSchema, { ...file, domain: values.domain ?? file.domain }, String(values.config ?? 'router config'));
  const logger = stderrLogger(parseOrThrow(logLevelSchema, values.logLevel, '--log-level'));
  const target = etcdOptions(values);
  const etcd = connectEtcd(target);
  let outcomes: Outcome[];
  try {
    const model = await snapshotModel(etcd, config, target);
    outcomes = await applyOnce(
      createTargets(config, {
        logger,
        requestApply: () => undefined,
        mode,
        once: true,
        etcd: etcd.client,
        watchClient: () => etcd.watchClient().client,
        vault: createVault(config.tls, logger),
      }),
      model,
    );
  } finally {
    etcd.close();
  }
  for (const outcome of outcomes) print(outcome, mode);
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length) {
    const first = failed[0]!.error;
    throw new FabricError(first instanceof FabricError ? first.code : 'FABRIC_ERR_RELOAD', `${failed.length} of ${outcomes.length} targets failed`);
  }
}

function syncMode(values: Record<string, unknown>): SyncMode {
  if (values.noop && values.syncOnly) throw new FabricError('FABRIC_ERR_CONFIG', '--noop and --sync-only exclude each other');
  return values.noop ? 'noop' : values.syncOnly ? 'sync-only' : 'normal';
}

/** The fabric keyspace as it is now, as the router would model it. */
async function snapshotModel(etcd: EtcdConnection, config: RouterConfig, target: EtcdTarget): Promise<Model> {
  const { kvs, revision } = await listPrefix(etcd.kv, '').catch((err) => {
    const explained = explainEtcdError(err, target);
    if (explained instanceof FabricError) throw explained;
    throw new FabricError('FABRIC_ERR_ETCD_UNAVAILABLE', `cannot read the fabric keyspace: ${grpcReason(describeError(err))}`, { cause: err });
  });
  const store = new KeyStore();
  store.reset(
    kvs.map((kv) => ({ type: 'put' as const, key: kv.key.toString(), value: kv.value.toString(), createRevision: Number(kv.create_revision) })),
    revision,
  );
  return deriveModel(store.grouped(), revision, { domain: config.domain, tls: { default: config.tls.default, defaultCert: config.tls.defaultCert } });
}

/** Each target once, in order; a failure does not stop the others. Every target is stopped after. */
async function applyOnce(targets: Target[], model: Model): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  try {
    for (const target of targets) {
      try {
        outcomes.push({ target, report: await target.apply(model) });
      } catch (error) {
        outcomes.push({ target, error });
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.stop('stop').catch(() => undefined)));
  }
  return outcomes;
}

/** Diffs and results on stdout; errors on stderr, one line per failure, each with its code. */
function print({ target, report, error }: Outcome, mode: SyncMode): void {
  if (error !== undefined) {
    for (const line of errorLines(error)) process.stderr.write(`fabric render: ${target.name}: ${line}\n`);
    return;
  }
  for (const { diff } of report!.diffs ?? []) process.stdout.write(diff.endsWith('\n') ? diff : `${diff}\n`);
  const what = mode === 'noop' ? (report!.diffs?.length ? 'would change' : 'no change') : report!.action === 'none' ? 'no change' : report!.action;
  process.stdout.write(`${target.name}: ${what}${report!.detail && mode !== 'noop' ? ` (${report!.detail})` : ''}\n`);
}

/** `CODE: message`; an error that gathers several (a confdir's resources) gives one line each. */
function errorLines(error: unknown): string[] {
  if (!(error instanceof FabricError)) return [`FABRIC_ERR: ${describeError(error)}`];
  const parts = error.details?.resources;
  if (Array.isArray(parts) && parts.length > 1) return parts.map((p: { code: string; message: string }) => `${p.code}: ${p.message}`);
  return [`${error.code}: ${error.message}`];
}

const logLevelSchema = z.enum(LOG_LEVELS);

/** JSON logs as every fabric process writes them, but on stderr: stdout carries the diffs. */
function stderrLogger(level: LogLevel): Logger {
  return pino(
    { level, base: { component: 'render' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination(2),
  );
}
