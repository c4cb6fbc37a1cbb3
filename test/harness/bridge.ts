// A private Linux bridge for the test dockerd: a second dockerd on docker0 collides with the
// machine's own. The first free name of fabtest0..fabtest9 wins (parallel runs each get their
// own); the digit k picks the subnet 172.30.k.0/24. The bridge's alias records the owning pid,
// so a bridge left behind by a killed run can be recognised and reclaimed.
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { isAlive, pidsWithArg } from './proc-scan.js';

export interface TestBridge {
  name: string;
  /** The bridge's own address, which dockerd uses as the containers' gateway. */
  gateway: string;
  cidr: string;
}

const ALIAS_PREFIX = 'fabric-test pid=';

export async function createTestBridge(): Promise<TestBridge> {
  for (let k = 0; k <= 9; k++) {
    const name = `fabtest${k}`;
    if (!(await claim(name))) continue;
    const gateway = `172.30.${k}.1`;
    try {
      await execa('ip', ['link', 'set', 'dev', name, 'alias', `${ALIAS_PREFIX}${process.pid}`]);
      await execa('ip', ['addr', 'add', `${gateway}/24`, 'dev', name]);
      await execa('ip', ['link', 'set', 'dev', name, 'up']);
    } catch (error) {
      await deleteBridge(name);
      throw error;
    }
    return { name, gateway, cidr: `172.30.${k}.0/24` };
  }
  throw new Error('no free bridge name fabtest0..fabtest9: check `ip link` for leftovers');
}

export async function deleteBridge(name: string): Promise<void> {
  await execa('ip', ['link', 'del', 'dev', name], { reject: false });
}

/** For the process 'exit' hook, where only synchronous calls run. */
export function deleteBridgeSync(name: string): void {
  try {
    execFileSync('ip', ['link', 'del', 'dev', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** `ip link add` is atomic: exactly one concurrent run gets each name. */
async function claim(name: string): Promise<boolean> {
  if (await addBridge(name)) return true;
  if (!(await isAbandoned(name))) return false;
  await deleteBridge(name);
  return addBridge(name);
}

async function addBridge(name: string): Promise<boolean> {
  const result = await execa('ip', ['link', 'add', name, 'type', 'bridge'], { reject: false });
  return result.exitCode === 0;
}

/**
 * Abandoned: created by this harness (alias set), its owner process is gone, and no dockerd
 * from a killed run still uses it.
 */
async function isAbandoned(name: string): Promise<boolean> {
  const result = await execa('ip', ['-j', 'link', 'show', 'dev', name], { reject: false });
  if (result.exitCode !== 0) return false;
  const [link] = JSON.parse(result.stdout) as Array<{ ifalias?: string }>;
  const alias = link?.ifalias ?? '';
  if (!alias.startsWith(ALIAS_PREFIX)) return false;
  const pid = Number(alias.slice(ALIAS_PREFIX.length));
  return Number.isInteger(pid) && !isAlive(pid) && pidsWithArg(name).length === 0;
}
