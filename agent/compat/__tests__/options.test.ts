// `--compat` is an agent flag like the others: the flag, FABRIC_COMPAT, or the --config file (a
// comma list or a YAML list); a word that names no tool is refused before anything starts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/options.js';
import { agentCommand } from '../../main.js';
import { agentOptions } from '../../start.js';

async function compatOf(args: string[]): Promise<unknown> {
  const command = agentCommand()
    .exitOverride()
    .action(() => {});
  await command.parseAsync(args, { from: 'user' });
  return agentOptions(resolveOptions(command).values, '127.0.0.1').compat;
}

const dirs: string[] = [];
afterEach(() => {
  delete process.env.FABRIC_COMPAT;
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function configFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-compat-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'agent.yaml'), text);
  return path.join(dir, 'agent.yaml');
}

describe('--compat', () => {
  it('is off by default', async () => {
    expect(await compatOf([])).toEqual([]);
  });

  it('takes the flag, FABRIC_COMPAT, or the config file (comma list or YAML list); the flag wins', async () => {
    expect(await compatOf(['--compat', 'traefik,nginx-proxy'])).toEqual(['traefik', 'nginx-proxy']);
    process.env.FABRIC_COMPAT = 'registrator';
    expect(await compatOf([])).toEqual(['registrator']);
    delete process.env.FABRIC_COMPAT;
    expect(await compatOf(['--config', configFile('compat: [traefik, registrator]\n')])).toEqual(['traefik', 'registrator']);
    expect(await compatOf(['--config', configFile('compat: nginx-proxy\n')])).toEqual(['nginx-proxy']);
    expect(await compatOf(['--config', configFile('compat: nginx-proxy\n'), '--compat', 'none'])).toEqual([]);
  });

  it('refuses a tool it does not know, naming the ones it does', async () => {
    await expect(compatOf(['--compat', 'traefik,haproxy'])).rejects.toThrow(/compat: unknown tool "haproxy": expected nginx-proxy, registrator, traefik/);
  });
});
