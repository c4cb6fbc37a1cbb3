// deploy/compose.yaml: etcd, a router and an agent for docker compose users. It must parse, and
// every command in it must be one the real CLI accepts (its flags parsed by the commands
// themselves, their values by the same schemas the processes use). Starts no container.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { agentCommand } from '../../agent/main.js';
import { agentOptions } from '../../agent/start.js';
import { routerConfigSchema } from '../../lb/config.js';
import { routerCommand } from '../../lb/main.js';
import { formatIssues } from '../../src/grammar.js';
import { commonOptions } from '../../src/options.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface ComposeService {
  image: string;
  build?: { context: string; dockerfile: string };
  command: string[];
  volumes?: string[];
  ports?: string[];
  networks?: string[];
  labels?: Record<string, string>;
  environment?: Record<string, string>;
  secrets?: string[];
}

/** Compose's `${NAME:-default}` with nothing set: the default. */
const interpolate = (text: string) => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

const compose = parseYaml(read('deploy/compose.yaml')) as {
  services: Record<string, ComposeService>;
  networks: Record<string, { name: string }>;
  secrets?: Record<string, { file: string }>;
};
const service = (name: string) => compose.services[name]!;
const argv = (name: string) => service(name).command.map(interpolate);

/** The command's own parser over the compose command line (its action replaced: nothing runs). */
async function parse(command: Command, args: string[]): Promise<Record<string, unknown>> {
  command.exitOverride().action(() => {});
  command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await command.parseAsync(args, { from: 'user' });
  return command.opts();
}

describe('deploy/compose.yaml', () => {
  it('has etcd, a router, an agent and an example app', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['etcd', 'router', 'agent', 'whoami']));
    expect(service('router').command[0]).toBe('router');
    expect(service('agent').command[0]).toBe('agent');
    expect(service('whoami').labels?.['fabric.service']).toBe('whoami');
  });

  it("the agent's command is one `fabric agent` accepts, and it reaches etcd and the apps' network", async () => {
    const values = await parse(agentCommand(), argv('agent').slice(1));
    const agent = agentOptions(values, '127.0.0.1');
    expect(agent).toMatchObject({
      docker: 'unix:///var/run/docker.sock',
      addressMode: 'container',
      network: 'fabric',
      compat: ['nginx-proxy', 'registrator', 'traefik'],
    });
    expect(compose.networks.fabric!.name).toBe(agent.network);
    for (const app of ['whoami', 'hello']) expect(service(app).networks).toContain('fabric');
    expect(service('agent').volumes).toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
    expect(commonOptions(values).etcd.endpoints).toEqual([advertisedEtcd()]);
  });

  it("the router's command is one `fabric router` accepts; its mounted config parses and its ports are published", async () => {
    const values = await parse(routerCommand(), argv('router').slice(1));
    // Its API listens beyond the container's loopback, so it takes a token: a compose secret, at /run/secrets/<name>.
    const secret = String(values.apiTokenFile).replace('/run/secrets/', '');
    expect(service('router').secrets).toContain(secret);
    expect(compose.secrets?.[secret]?.file).toBe('./compose/api-token');
    expect(read('.gitignore')).toContain('deploy/compose/api-token');
    const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-compose-'));
    try {
      fs.writeFileSync(path.join(tokenDir, 'token'), 'compose-test-token\n', { mode: 0o600 });
      const options = commonOptions({ ...values, apiTokenFile: path.join(tokenDir, 'token') });
      expect(options.etcd.endpoints).toEqual([advertisedEtcd()]);
      expect(options.api?.token).toBe('compose-test-token');
    } finally {
      fs.rmSync(tokenDir, { recursive: true, force: true });
    }
    const mount = service('router')
      .volumes!.map((v) => v.split(':'))
      .find(([, target]) => target === values.config);
    expect(mount, `a volume mounted at ${values.config}`).toBeDefined();
    const raw = parseYaml(fs.readFileSync(path.resolve(DEPLOY, mount![0]!), 'utf8'));
    const config = routerConfigSchema.safeParse(raw);
    expect(config.success, config.success ? '' : formatIssues(config.error)).toBe(true);
    const http = config.data!.targets.find((t) => t.kind === 'haproxy')!;
    const published = service('router').ports!.map((p) => p.split(':').at(-1));
    expect(published).toContain(String(http.kind === 'haproxy' && http.http?.split(':').at(-1)));
    expect(published).toContain(String(values.listen).split(':').at(-1));
  });

  it('builds the fabric image from deploy/Dockerfile, whose entry point is the CLI package.json names', () => {
    for (const name of ['router', 'agent']) {
      expect(service(name).build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(interpolate(service(name).image)).toBe('fabric:0.1.0');
    }
    const bin = (JSON.parse(read('package.json')) as { bin: { fabric: string } }).bin.fabric;
    expect(read('deploy/Dockerfile')).toContain(`ENTRYPOINT ["node", "/opt/fabric/${bin}"]`);
  });
});

/** The client URL etcd advertises in compose: what the router and agent must be given. */
function advertisedEtcd(): string {
  const flag = service('etcd').command.find((arg) => arg.startsWith('--advertise-client-urls='));
  return flag!.split('=')[1]!;
}
