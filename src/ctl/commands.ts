import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describeError, FabricError } from '../errors.js';
import { connectEtcd, type EtcdConnection, type EtcdOptions } from '../etcd.js';
import { explainEtcdError } from '../etcd-errors.js';
import { namespacePrefix } from '../keyspace.js';
import { policiesOf } from '../model/policy/schema.js';
import { addEtcdOptions, etcdOptions, option, resolveOptions } from '../options.js';
import { createKeyring, readKeyFile } from '../tls/keyring.js';
import { applyResources, type ChunkProgress, describeChange } from './apply.js';
import { prepareImport, rekeyCerts, requestRenewal, storeCert } from './certs.js';
import { deleteResources, parseDeleteKind } from './delete.js';
import { invalidDocuments, loadResources, type Resource, readSources } from './documents.js';
import { OUTPUT_FORMATS, parseOutputFormat, renderRows } from './output.js';
import { type RouterTargets, readRouterTargets, unsupportedPolicyErrors } from './policy-targets.js';
import { describeMissingBackend, existingServices, missingBackends, undefinedBackends } from './references.js';
import { readState } from './state.js';
import { wantsColor } from './table.js';
import { ETCD_DEFAULT_LIMITS } from './txn-limits.js';
import { VIEWS } from './views.js';

/** `fabric apply -f FILE…`: validate every document, then write them in one transaction. */
export function applyCommand(): Command {
  const command = new Command('apply').description('create or update Services and Routes from YAML files, all or nothing');
  return addEtcdOptions(command)
    .addOption(
      option('-f, --filename <file>', 'multi-document YAML of Service and Route; "-" reads stdin; repeatable (FABRIC_FILENAME: one file); required').argParser(
        collect,
      ),
    )
    .addOption(option('--dry-run', 'validate and print what would change, write nothing', false))
    .addOption(option('--max-txn-ops <n>', "operations one etcd transaction may hold (etcd's --max-txn-ops)", String(ETCD_DEFAULT_LIMITS.maxOps)))
    .addOption(option('--max-request-bytes <n>', "bytes one etcd request may have (etcd's --max-request-bytes)", String(ETCD_DEFAULT_LIMITS.maxBytes)))
    .addOption(option('--chunked', 'a file over those limits is written in several transactions, each all or nothing: the whole apply is NOT', false))
    .action(async (_opts, cmd: Command) => runApply(cmd));
}

/** `fabric get services|endpoints|routes|hosts|certs [-o table|json|yaml]`. */
export function getCommand(): Command {
  const command = new Command('get').description('show services, endpoints, routes, hosts or certs').argument('<resource>', Object.keys(VIEWS).join('|'));
  return addEtcdOptions(command)
    .addOption(option('-o, --output <format>', 'output format', 'table').choices(OUTPUT_FORMATS))
    .action(async (resource: string, _opts, cmd: Command) => runGet(cmd, resource));
}

/** `fabric delete service|route|cert NAME…`: every name must exist, else nothing is deleted. */
export function deleteCommand(): Command {
  const command = new Command('delete')
    .description('remove Service or Route specs, or certificates')
    .argument('<kind>', 'service | route | cert')
    .argument('<names...>', 'names to delete');
  return addEtcdOptions(command)
    .addOption(option('--max-txn-ops <n>', "operations one etcd transaction may hold (etcd's --max-txn-ops)", String(ETCD_DEFAULT_LIMITS.maxOps)))
    .action(async (kind: string, names: string[], _opts, cmd: Command) => runDelete(cmd, kind, names));
}

async function runApply(command: Command): Promise<void> {
  const { values } = resolveOptions(command);
  const files = fileNames(values.filename);
  const dryRun = values.dryRun === true;
  const chunked = values.chunked === true;
  const resources = loadResources(readSources(files, () => readFileSync(0, 'utf8')));
  const limits = {
    maxOps: limitValue(values, 'maxTxnOps'),
    maxBytes: limitValue(values, 'maxRequestBytes'),
    keyPrefix: namespacePrefix(String(values.etcdPrefix)),
  };
  const result = await withEtcd(values, async (etcd) => {
    await warnMissingBackends(etcd, resources, etcdOptions(values));
    await refuseUnsupportedPolicies(etcd, resources, etcdOptions(values));
    return applyResources(etcd.kv, resources, { dryRun, chunked, limits, onChunk: printChunk });
  });
  process.stdout.write(result.changes.map((change) => `${describeChange(change, dryRun)}\n`).join(''));
  if (chunked && result.transactions > 1) {
    process.stderr.write(
      `${dryRun ? 'would write' : 'wrote'} the changes in ${result.transactions} transactions (--chunked: each all or nothing, the whole not)\n`,
    );
  }
}

/** A warning, never a refusal: the service may come later. A user who may not read endpoints/ gets told that instead. */
async function warnMissingBackends(etcd: EtcdConnection, resources: Resource[], options: EtcdOptions): Promise<void> {
  try {
    const existing = await existingServices(etcd.kv, undefinedBackends(resources));
    for (const missing of missingBackends(resources, existing)) process.stderr.write(`fabric: warning: ${describeMissingBackend(missing)}\n`);
  } catch (err) {
    const explained = explainEtcdError(err, options);
    if (!(explained instanceof FabricError && explained.code === 'FABRIC_ERR_PERMISSION')) throw explained;
    process.stderr.write(`fabric: warning: could not check that the Routes' services exist: ${describeError(explained)}\n`);
  }
}

/** A policy a running router's target cannot apply: refused, nothing written (src/model/policy/capabilities.ts). */
async function refuseUnsupportedPolicies(etcd: EtcdConnection, resources: Resource[], options: EtcdOptions): Promise<void> {
  if (!resources.some((r) => r.kind === 'Service' && (policiesOf(r.spec) || r.spec.proto !== undefined))) return;
  let routers: RouterTargets[];
  try {
    routers = await readRouterTargets(etcd.kv);
  } catch (err) {
    const explained = explainEtcdError(err, options);
    if (!(explained instanceof FabricError && explained.code === 'FABRIC_ERR_PERMISSION')) throw explained;
    process.stderr.write(`fabric: warning: could not check that the routers' targets apply these policies: ${describeError(explained)}\n`);
    return;
  }
  const errors = unsupportedPolicyErrors(resources, routers);
  if (errors.length > 0) throw invalidDocuments(errors);
}

function printChunk({ chunk, chunks, changes, revision }: ChunkProgress): void {
  process.stderr.write(`chunk ${chunk}/${chunks}: ${changes} changes written (revision ${revision})\n`);
}

/** `--max-txn-ops 500`: a whole number, up to what one transaction can be built with here. */
function limitValue(values: Record<string, unknown>, key: 'maxTxnOps' | 'maxRequestBytes'): number {
  const [min, max] = key === 'maxTxnOps' ? [1, 10_000] : [1_024, 1024 * 1024 * 1024];
  const text = String(values[key]);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    const flag = key === 'maxTxnOps' ? '--max-txn-ops' : '--max-request-bytes';
    throw new FabricError('FABRIC_ERR_CONFIG', `${flag} ${text}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

async function runGet(command: Command, resource: string): Promise<void> {
  const view = VIEWS[resource];
  if (!view) throw new FabricError('FABRIC_ERR_CONFIG', `cannot get "${resource}": expected services, endpoints, routes, hosts or certs`);
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
  const lines = await withEtcd(values, (etcd) => deleteResources(etcd.kv, kind, names, limitValue(values, 'maxTxnOps')));
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
}

/** `fabric cert import NAME --cert F --key F` and `fabric cert renew NAME` (docs/tls.md). */
export function certCommand(): Command {
  const cert = new Command('cert').description('TLS certificates in etcd (list them with `fabric get certs`, remove with `fabric delete cert`)');
  const importing = new Command('import')
    .description('validate a certificate chain and its key, then store them in etcd (the key encrypted with the TLS key file)')
    .argument('<name>', 'certificate name (certs/<name>)');
  addEtcdOptions(importing)
    .addOption(option('--cert <file>', 'PEM certificate chain: the leaf first, then each issuer; required'))
    .addOption(option('--key <file>', 'PEM private key of the leaf, unencrypted; required'))
    .addOption(option('--tls-key-file <file>', "the routers' tls.keyFile (base64 of 32 bytes) that encrypts the key; else tls.keyFile of --config"))
    .action(async (name: string, _opts, cmd: Command) => runCertImport(cmd, name));
  const renew = new Command('renew').description('ask the routers to renew an ACME certificate now').argument('<name>', 'certificate name');
  addEtcdOptions(renew).action(async (name: string, _opts, cmd: Command) => runCertRenew(cmd, name));
  const rekey = new Command('rekey').description('encrypt every stored private key again with the new TLS key file (a key-file rotation)');
  addEtcdOptions(rekey)
    .addOption(option('--tls-key-file <file>', 'the new key file (else tls.keyFile of --config)'))
    .addOption(option('--previous-key-file <file>', 'the key file the records are encrypted with now; repeatable').argParser(collect))
    .action(async (_opts, cmd: Command) => runCertRekey(cmd));
  return cert.addCommand(importing).addCommand(renew).addCommand(rekey);
}

async function runCertRekey(command: Command): Promise<void> {
  const { values, file } = resolveOptions(command, { fileKeys: await routerConfigKeys() });
  const tls = (file.tls ?? {}) as { keyFile?: unknown; previousKeyFiles?: unknown };
  const keyFile = typeof values.tlsKeyFile === 'string' ? values.tlsKeyFile : typeof tls.keyFile === 'string' ? tls.keyFile : undefined;
  if (!keyFile) throw new FabricError('FABRIC_ERR_TLS', 'no TLS key file: give --tls-key-file FILE (or FABRIC_TLS_KEY_FILE, or tls.keyFile in --config)');
  const fromFlag = Array.isArray(values.previousKeyFile)
    ? values.previousKeyFile.map(String)
    : typeof values.previousKeyFile === 'string'
      ? [values.previousKeyFile]
      : [];
  const fromConfig = Array.isArray(tls.previousKeyFiles) ? tls.previousKeyFiles.map(String) : [];
  const keyring = createKeyring(readKeyFile(keyFile), [...fromFlag, ...fromConfig].map(readKeyFile));
  const result = await withEtcd(values, (etcd) => rekeyCerts(etcd.kv, keyring));
  for (const name of result.rekeyed) process.stdout.write(`cert/${name} re-encrypted with key ${keyring.primary.id}\n`);
  process.stdout.write(
    `${result.rekeyed.length} re-encrypted, ${result.unchanged.length} already under key ${keyring.primary.id}, ${result.failed.length} failed\n`,
  );
  for (const failure of result.failed) process.stderr.write(`fabric: cert ${failure}\n`);
  if (result.failed.length > 0) process.exitCode = 1;
}

async function runCertImport(command: Command, name: string): Promise<void> {
  const { values, file } = resolveOptions(command, { fileKeys: await routerConfigKeys() });
  const certFile = requiredFile(values.cert, '--cert');
  const keyFile = requiredFile(values.key, '--key');
  const fromConfig = (file.tls as { keyFile?: unknown } | undefined)?.keyFile;
  const tlsKeyFile = typeof values.tlsKeyFile === 'string' ? values.tlsKeyFile : typeof fromConfig === 'string' ? fromConfig : undefined;
  // Everything is checked before etcd is touched: a refusal writes nothing.
  const prepared = prepareImport({ name, certFile, keyFile, tlsKeyFile });
  const { replaced, otherKeyIds } = await withEtcd(values, (etcd) => storeCert(etcd.kv, prepared));
  const { record } = prepared;
  process.stdout.write(
    `cert/${name} ${replaced ? 'replaced' : 'imported'}: ${record.domains.join(', ')}; issuer ${record.issuer}; not after ${record.notAfter}\n`,
  );
  if (otherKeyIds.length > 0) {
    process.stderr.write(
      `fabric: warning: other certificates are encrypted with key ${otherKeyIds.join(', ')}, this one with ${record.key.keyId}: every router needs both (tls.keyFile, tls.previousKeyFiles)\n`,
    );
  }
}

async function runCertRenew(command: Command, name: string): Promise<void> {
  const { values } = resolveOptions(command, { fileKeys: await routerConfigKeys() });
  const request = await withEtcd(values, (etcd) => requestRenewal(etcd.kv, name));
  process.stdout.write(`cert/${name}: renewal requested (${request}); a router with ACME renews it and replaces certs/${name}\n`);
}

/** A router.yaml may serve as --config (for its tls.keyFile): its keys are known ones. Loaded only here. */
async function routerConfigKeys(): Promise<readonly string[]> {
  return (await import('../../lb/config.js')).ROUTER_CONFIG_KEYS;
}

function requiredFile(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new FabricError('FABRIC_ERR_CONFIG', `${flag} FILE is required`);
  return value;
}

/** One connection for one command, closed however the command ends; an unreachable etcd gets a clear error. */
async function withEtcd<T>(values: Record<string, unknown>, use: (etcd: EtcdConnection) => Promise<T>): Promise<T> {
  const options = etcdOptions(values);
  const etcd = connectEtcd(options);
  try {
    return await use(etcd);
  } catch (err) {
    throw explainEtcdError(err, options);
  } finally {
    etcd.close();
  }
}

/**
 * -f (repeatable), FABRIC_FILENAME or `filename:` in --config (one name or a list). Checked here, not by
 * commander: a required option is checked before the config file is read.
 */
function fileNames(value: unknown): string[] {
  const names = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
  if (names.length === 0) throw new FabricError('FABRIC_ERR_CONFIG', 'no file to apply: give -f FILE (or FABRIC_FILENAME, or `filename:` in --config)');
  return names;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
