import { describe, expect, it } from 'vitest';
import type { ChildInfo } from '../../src/children.js';
import { createLogger } from '../../src/log.js';
import { ShutdownRequested, StopStack } from '../stop-stack.js';

/** A stack whose "child processes" are `children` (never this test process's real ones). */
function stack(children: ChildInfo[] = []) {
  const lines: string[] = [];
  const events: string[] = [];
  const kill = async (killed: ChildInfo[]) => {
    events.push(`kill ${killed.map((c) => c.pid).join(' ')}`);
    return [];
  };
  const s = new StopStack({ line: (text) => lines.push(text) }, createLogger('silent', 'test'), { list: () => children, kill });
  return { s, lines, events };
}

describe('StopStack', () => {
  it('stops newest first, each once, and says so', async () => {
    const { s, lines, events } = stack();
    for (const what of ['etcd', 'router', 'agent']) {
      await s.start(async () => s.push(what, async () => void events.push(`stop ${what}`)));
    }
    await Promise.all([s.stopAll(), s.stopAll()]);
    expect(events).toEqual(['stop agent', 'stop router', 'stop etcd']);
    expect(lines).toEqual(['  stopping agent', '  stopping router', '  stopping etcd']);
  });

  it('a shutdown during a start waits for it, stops what it started, and ends the start-up', async () => {
    const { s, events } = stack();
    let finishStart: () => void = () => {};
    const starting = s.start(async () => {
      await new Promise<void>((resolve) => (finishStart = resolve));
      s.push('router', async () => void events.push('stop router'));
      return 'router';
    });
    const stopped = s.stopAll();
    expect(s.stopRequested).toBe(true);
    finishStart();
    await expect(starting).rejects.toBeInstanceOf(ShutdownRequested);
    await stopped;
    expect(events).toEqual(['stop router']);
    await expect(s.start(async () => 'agent')).rejects.toBeInstanceOf(ShutdownRequested); // nothing new starts
  });

  it('a forced stop kills every child and runs the quick stop of what has not finished stopping only', async () => {
    const { s, lines, events } = stack([
      { pid: 41, command: 'etcd', leadsGroup: true },
      { pid: 42, command: 'haproxy', leadsGroup: true },
    ]);
    await s.start(async () => s.push('etcd', async () => undefined));
    await s.start(async () =>
      s.push(
        'demo containers',
        async () => void events.push('removed'),
        async () => void events.push('force-removed'),
      ),
    );
    await s.forceAll('second signal (SIGINT)');
    expect(events).toEqual(['kill 41 42', 'force-removed']);
    expect(lines.at(-1)).toBe('second signal (SIGINT): stopping now — killing etcd (pid 41), haproxy (pid 42); removing the demo containers');
    await s.stopAll();
    lines.length = 0;
    await s.forceAll('again');
    expect(lines).toEqual(['again: stopping now — killing etcd (pid 41), haproxy (pid 42)']);
  });
});
