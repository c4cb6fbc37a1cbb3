import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { FabricError } from '../errors.js';
import { connectEtcd, type EtcdConnection } from '../etcd.js';
import { addEtcdOptions, etcdOptions, resolveOptions } from '../options.js';
import { applyResources, describeChange } from './apply.js';
import { deleteResources, parseDeleteKind } from './delete.js';
import { loadResources, readSources } from './documents.js';
import { OUTPUT_FORMATS, parseOutputFormat, renderRows } from './output.js';
import { readState } from './state.js';
import { wantsColor } from './table.js';
import { VIEWS } from './views.js';

/** `fabric apply -f FILE…`: validate every document, then write them in one transaction. */
export function applyCommand(): Command {
  const command = new Command('apply').description('create or update Services and Routes from YAML files, all or nothing');
  return addEtcdOptions(command)
    .addOption(
      new Option('-f, --filename <file>', 'multi-document YAML of Service and Route; "-" reads stdin; repeatable').argParser(collect).makeOptionMandatory(),
    )
    .addOption(new Option('--dry-run', 'validate and print what would change, write nothing').default(false))
    .action(async (_opts, cmd: Command) => runApply(cmd));
}

/** `fabric get services|endpoints|routes|hosts [-o table|json|yaml]`. */
export function getCommand(): Command {
  const command = new Command('get').description('show services, endpoints, routes or hosts').argument('<resource>', Object.keys(VIEWS).join('|'));
  return addEtcdOptions(command)
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .action(async (resource: string, _opts, cmd: Command) => runGet(cmd, resource));
}

/** `fabric delete service|route NAME…`: every name must exist, else nothing is deleted. */
export function deleteCommand(): Command {
  const command = new Command('delete')
    .description('remove Service or Route specs')
    .argument('<kind>', 'service | route')
    .argument('<names...>', 'names to delete');
  return addEtcdOptions(command).action(async (kind: string, names: string[], _opts, cmd: Command) => runDelete(cmd, kind, names));
}

async function runApply(command: Command): Promise<void> {
  const { values } = resolveOptions(command);
  const files = values.filename as string[];
  const dryRun = Boolean(values.dryRun);
  const resources = loadResources(readSources(files, () => readFileSync(0, 'utf8')));
  const result = await withEtcd(values, (etcd) => applyResources(etcd.kv, resources, dryRun));
  process.stdout.write(result.changes.map((change) => `${describeChange(change, dryRun)}\n`).join(''));
}

async function runGet(command: Command, resource: string): Promise<void> {
  const view = VIEWS[resource];
  if (!view) throw new FabricError('FABRIC_ERR_CONFIG', `cannot get "${resource}": expected services, endpoints, routes or hosts`);
  const { values } = resolveOptions(command);
  const format = parseOutputFormat(String(values.output));
  const state = await withEtcd(values, (etcd) => readState(etcd.kv, view.parts));
  for (const reason of state.skipped) process.stderr.write(`fabric: warning: skipped ${reason}\n`);
  const rows = view.rows(state);
  if (format === 'table' && rows.length === 0) {
    process.stderr.write(`No ${resource} found.\n`);
    return;
  }
  process.stdout.write(renderRows(rows, view.columns, format, wantsColor(process.stdout)));
}

async function runDelete(command: Command, kindWord: string, names: string[]): Promise<void> {
  const kind = parseDeleteKind(kindWord);
  const { values } = resolveOptions(command);
  const lines = await withEtcd(values, (etcd) => deleteResources(etcd.kv, kind, names));
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
}

/** One connection for one command, closed however the command ends; an unreachable etcd gets a clear error. */
async function withEtcd<T>(values: Record<string, unknown>, use: (etcd: EtcdConnection) => Promise<T>): Promise<T> {
  const options = etcdOptions(values);
  const etcd = connectEtcd(options);
  try {
    return await use(etcd);
  } catch (err) {
    throw explainEtcdError(err, options.endpoints);
  } finally {
    etcd.close();
  }
}

function explainEtcdError(err: unknown, endpoints: string[]): unknown {
  if (err instanceof FabricError) return err;
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : String(err);
  if (/GRPCConnectFailed|Unavailable|Deadline|BrokenCircuit/i.test(`${name} ${message}`)) {
    return new FabricError('FABRIC_ERR_ETCD_UNAVAILABLE', `etcd at ${endpoints.join(',')}: ${message}`, { cause: err });
  }
  return err;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
