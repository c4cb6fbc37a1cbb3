import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { childProcesses, describeChildren, killChildren, waitGone } from '../children.js';

describe('child processes, for a forced stop', () => {
  it('lists this process’s children and kills one with its whole process group', async () => {
    // A detached shell (a group of its own, like HAProxy and etcd) with a child of its own.
    const shell = spawn('/bin/sh', ['-c', 'sleep 30 & echo started; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve) => shell.stdout!.once('data', () => resolve()));
    const mine = childProcesses().filter((c) => c.pid === shell.pid);
    expect(mine).toEqual([{ pid: shell.pid, command: 'sh', leadsGroup: true }]);
    expect(describeChildren(mine)).toBe(`sh (pid ${shell.pid})`);
    const killed = killChildren(mine);
    expect(killed).toHaveLength(2); // the shell and its sleep
    expect(await waitGone(killed)).toEqual([]);
  });
});
