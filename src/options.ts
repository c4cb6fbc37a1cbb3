import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { type ApiAccess, refuseOpenListen } from './api-access.js';
import { describeError, FabricError } from './errors.js';
import type { EtcdOptions } from './etcd.js';
import { formatIssues } from './grammar.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { readSecretFile } from './secret-file.js';
import { closestKey } from './suggest.js';

/** `--etcd-prefix` → `FABRIC_ETCD_PREFIX`, as the contract says. */
export function envName(flag: string): string {
  return `FABRIC_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** A long option that can also be set through its FABRIC_* variable. */
export function option(flags: string, description: string, defaultValue?: string | boolean): Option {
  const long = /--[a-z0-9-]+/.exec(flags)![0];
  const opt = new Option(flags, description).env(envName(long));
  return defaultValue === undefined ? opt : opt.default(defaultValue);
}

/** Flags every process takes (CONTRACT.md, "Common flags"). */
export function addCommonOptions(command: Command, listenDefault: string): Command {
  return addEtcdOptions(command)
    .addOption(option('--listen <host:port>', 'HTTP API address (beyond 127.0.0.0/8 or ::1 only with --api-token-file)', listenDefault))
    .addOption(option('--api-token-file <file>', 'file holding the API token: every route but /healthz and /readyz then needs "Authorization: Bearer <token>"'))
    .addOption(option('--metrics-public', 'with --api-token-file: serve /metrics without the token'))
    .addOption(option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info'));
}

/** `--config` and the etcd flags: all that commands which only talk to etcd (apply, get, delete) take. */
export function addEtcdOptions(command: Command): Command {
  return command
    .addOption(option('--config <file>', 'YAML config file; flags and FABRIC_* variables override it'))
    .addOption(option('--etcd <urls>', 'etcd endpoints, comma-separated', 'http://127.0.0.1:2379'))
    .addOption(option('--etcd-prefix <prefix>', 'root of the fabric keyspace', '/fabric'))
    .addOption(option('--etcd-cacert <file>', 'CA certificate for TLS to etcd'))
    .addOption(option('--etcd-cert <file>', 'client certificate for TLS to etcd'))
    .addOption(option('--etcd-key <file>', 'client key for TLS to etcd'))
    .addOption(option('--etcd-user <user>', 'etcd user'))
    .addOption(option('--etcd-password-file <file>', 'file holding the etcd password (preferred: a password on the command line shows in `ps`)'))
    .addOption(option('--etcd-password <password>', 'etcd password; prefer --etcd-password-file'));
}

/** Words a boolean FABRIC_* variable may hold; anything else is refused (`FABRIC_KEEP_LEASE=0` is off, not on). */
const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off', ''];

export function parseBooleanVariable(name: string, text: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw new FabricError(
    'FABRIC_ERR_CONFIG',
    `${name}=${JSON.stringify(text)}: expected on (${TRUE_WORDS.join(', ')}) or off (${FALSE_WORDS.filter(Boolean).join(', ')} or empty)`,
  );
}

export interface ResolveOptions {
  /** Keys a --config file may hold besides the command's option names (the router's: its config schema's). */
  fileKeys?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The command's options with the config file folded in underneath: a value
 * comes from the flag, else FABRIC_*, else the file, else the default. A key
 * of the file that is neither an option nor one of `fileKeys` is refused.
 */
export function resolveOptions(command: Command, opts: ResolveOptions = {}): { values: Record<string, unknown>; file: Record<string, unknown> } {
  const values: Record<string, unknown> = { ...command.opts(), ...booleanVariables(command, opts.env ?? process.env) };
  const configPath = values.config as string | undefined;
  if (!configPath) return { values, file: {} };
  const file = readConfigFile(configPath);
  refuseUnknownKeys(Object.keys(file), [...optionKeys(command), ...(opts.fileKeys ?? [])], configPath);
  for (const [key, value] of Object.entries(file)) {
    const source = command.getOptionValueSource(key);
    if (source === undefined || source === 'default') values[key] = value;
  }
  return { values, file };
}

/**
 * Commander sets a boolean option to true whenever its variable exists, whatever it holds:
 * read the variable of every flag that came from the environment again, strictly.
 */
function booleanVariables(command: Command, env: NodeJS.ProcessEnv): Record<string, boolean> {
  const values: Record<string, boolean> = {};
  for (const opt of command.options) {
    const key = opt.attributeName();
    if (opt.required || opt.optional || !opt.envVar || command.getOptionValueSource(key) !== 'env') continue;
    const on = parseBooleanVariable(opt.envVar, env[opt.envVar] ?? '');
    values[key] = opt.negate ? !on : on;
  }
  return values;
}

/** The YAML parser (72 modules) loads only when a config file is read: `fabric agent` usually has none. */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

function readConfigFile(configPath: string): Record<string, unknown> {
  let file: unknown;
  try {
    file = parseYaml(readFileSync(configPath, 'utf8')) ?? {};
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CONFIG', `${configPath}: ${describeError(err)}`, { cause: err });
  }
  if (typeof file !== 'object' || Array.isArray(file)) {
    throw new FabricError('FABRIC_ERR_CONFIG', `${configPath}: expected a YAML mapping`);
  }
  return file as Record<string, unknown>;
}

/** The keys of a --config file that fold onto the command's options: their camelCase names, as `opts()` has them. */
function optionKeys(command: Command): string[] {
  return command.options.map((opt) => opt.attributeName()).filter((key) => key !== 'config');
}

function refuseUnknownKeys(keys: string[], known: string[], where: string): void {
  const unknown = keys.filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new FabricError('FABRIC_ERR_CONFIG', unknown.map((key) => unknownKeyMessage(key, key, known, where)).join('; '));
}

/** "unknown key `targets[0].htp` in router.yaml; did you mean `http`?" */
function unknownKeyMessage(path: string, key: string, known: readonly string[], where: string): string {
  const suggestion = closestKey(key, known);
  return `unknown key \`${path}\` in ${where}${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`;
}

const commonSchema = z.object({
  etcd: z.union([z.string(), z.array(z.string())]),
  etcdPrefix: z.string().regex(/^\/[A-Za-z0-9._/-]*$/, 'must be an absolute key prefix'),
  etcdCacert: z.string().optional(),
  etcdCert: z.string().optional(),
  etcdKey: z.string().optional(),
  etcdUser: z.string().optional(),
  etcdPassword: z.string().optional(),
  etcdPasswordFile: z.string().optional(),
  apiTokenFile: z.string().optional(),
  metricsPublic: z.boolean().optional(),
  listen: z.string(),
  logLevel: z.enum(LOG_LEVELS),
});

export interface CommonOptions {
  etcd: EtcdOptions;
  listen: string;
  logLevel: LogLevel;
  /** The API token (read from --api-token-file) and what stays open without it; none: no token, loopback only. */
  api?: ApiAccess;
}

/**
 * The etcd connection options alone, for commands registered with addEtcdOptions
 * (apply, get, delete): they have no --listen or --log-level, so those are filled
 * in only to pass the common schema, and dropped.
 */
export function etcdOptions(values: Record<string, unknown>): EtcdOptions {
  return commonOptions({ ...values, listen: 'unused', logLevel: 'info' }).etcd;
}

export function commonOptions(values: Record<string, unknown>): CommonOptions {
  const parsed = parseOrThrow(commonSchema, values, 'options');
  if (parsed.etcdPassword !== undefined && parsed.etcdPasswordFile) {
    throw new FabricError('FABRIC_ERR_CONFIG', '--etcd-password and --etcd-password-file: give one of them (prefer the file)');
  }
  const password = parsed.etcdPasswordFile ? readSecretFile(parsed.etcdPasswordFile, '--etcd-password-file') : parsed.etcdPassword;
  const api: ApiAccess = {
    ...(parsed.apiTokenFile ? { token: readSecretFile(parsed.apiTokenFile, '--api-token-file') } : {}),
    metricsPublic: parsed.metricsPublic ?? false,
  };
  // Refused here, before etcd or Docker is touched: the mistake is the command line's.
  if (parsed.listen !== 'unused') refuseOpenListen(parsed.listen, api);
  const endpoints = (Array.isArray(parsed.etcd) ? parsed.etcd : parsed.etcd.split(',')).map((url) => url.trim()).filter(Boolean);
  return {
    etcd: {
      endpoints,
      prefix: parsed.etcdPrefix,
      cacert: parsed.etcdCacert,
      cert: parsed.etcdCert,
      key: parsed.etcdKey,
      user: parsed.etcdUser,
      password,
    },
    listen: parsed.listen,
    logLevel: parsed.logLevel,
    api,
  };
}

/**
 * `value` through `schema`, or a FABRIC_ERR_CONFIG naming each bad field. A strict object's
 * unknown key is named with its path and the closest key that object knows.
 */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value, { error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeysIssue(issue, what) : undefined) });
  if (!result.success) throw new FabricError('FABRIC_ERR_CONFIG', describeIssues(result.error, what));
  return result.data;
}

function unknownKeysIssue(issue: { keys: string[]; path?: PropertyKey[]; inst?: unknown }, what: string): string {
  const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
  const path = issue.path ?? [];
  return issue.keys.map((key) => unknownKeyMessage(keyPath([...path, key]), key, known, what)).join('; ');
}

function describeIssues(error: z.ZodError, what: string): string {
  const unknownKeys = error.issues.filter((issue) => issue.code === 'unrecognized_keys').map((issue) => issue.message);
  const others = error.issues.filter((issue) => issue.code !== 'unrecognized_keys');
  const invalid = others.length ? [`${what}: ${formatIssues(new z.ZodError(others))}`] : [];
  return [...invalid, ...unknownKeys].join('; ');
}

/** `['targets', 0, 'htp']` → `targets[0].htp`. */
function keyPath(path: PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}
