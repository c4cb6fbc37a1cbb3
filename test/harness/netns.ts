// A network namespace standing in for another machine: a router's load balancer run inside it
// binds its own loopback addresses, as a second router host would. (Two routers on one machine
// cannot both bind a VIP: with `noreuseport` that is an error, as it should be.)
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { addExitCleanup } from './processes.js';

export interface NetNamespace {
  name: string;
  /** An executable that runs `binary` with its arguments inside the namespace. */
  wrap(binary: string, dir: string): string;
  remove(): Promise<void>;
}

export async function createNetns(): Promise<NetNamespace> {
  const name = `fabtest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await execa('ip', ['netns', 'add', name]);
  const forget = addExitCleanup(() => void execa('ip', ['netns', 'del', name], { reject: false }));
  await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    wrap: (binary, dir) => {
      const wrapper = path.join(dir, `${path.basename(binary)}-in-${name}`);
      fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${name} ${binary} "$@"\n`, { mode: 0o755 });
      return wrapper;
    },
    remove: async () => {
      forget();
      await execa('ip', ['netns', 'del', name], { reject: false });
    },
  };
}
