import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeError, FabricError } from './errors.js';
import type { EtcdOptions } from './etcd.js';
import { formatIssues } from './grammar.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

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
    .addOption(option('--listen <host:port>', 'HTTP API address', listenDefault))
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
    .addOption(option('--etcd-password <password>', 'etcd password'));
}

/**
 * The command's options with the config file folded in underneath: a value
 * comes from the flag, else FABRIC_*, else the file, else the default.
 */
export function resolveOptions(command: Command): { values: Record<string, unknown>; file: Record<string, unknown> } {
  const values: Record<string, unknown> = { ...command.opts() };
  const configPath = values.config as string | undefined;
  if (!configPath) return { values, file: {} };
  let file: Record<string, unknown>;
  try {
    file = (parseYaml(readFileSync(configPath, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CONFIG', `${configPath}: ${describeError(err)}`, { cause: err });
  }
  if (typeof file !== 'object' || Array.isArray(file)) {
    throw new FabricError('FABRIC_ERR_CONFIG', `${configPath}: expected a YAML mapping`);
  }
  for (const [key, value] of Object.entries(file)) {
    const source = command.getOptionValueSource(key);
    if (source === undefined || source === 'default') values[key] = value;
  }
  return { values, file };
}

const commonSchema = z.object({
  etcd: z.union([z.string(), z.array(z.string())]),
  etcdPrefix: z.string().regex(/^\/[A-Za-z0-9._/-]*$/, 'must be an absolute key prefix'),
  etcdCacert: z.string().optional(),
  etcdCert: z.string().optional(),
  etcdKey: z.string().optional(),
  etcdUser: z.string().optional(),
  etcdPassword: z.string().optional(),
  listen: z.string(),
  logLevel: z.enum(LOG_LEVELS),
});

export interface CommonOptions {
  etcd: EtcdOptions;
  listen: string;
  logLevel: LogLevel;
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
  const endpoints = (Array.isArray(parsed.etcd) ? parsed.etcd : parsed.etcd.split(',')).map((url) => url.trim()).filter(Boolean);
  return {
    etcd: {
      endpoints,
      prefix: parsed.etcdPrefix,
      cacert: parsed.etcdCacert,
      cert: parsed.etcdCert,
      key: parsed.etcdKey,
      user: parsed.etcdUser,
      password: parsed.etcdPassword,
    },
    listen: parsed.listen,
    logLevel: parsed.logLevel,
  };
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new FabricError('FABRIC_ERR_CONFIG', `${what}: ${formatIssues(result.error)}`);
  return result.data;
}
