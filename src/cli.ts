#!/usr/bin/env node
import { Command } from 'commander';
import { describeError, FabricError } from './errors.js';
import { guardStdio, writeStd } from './stdio.js';
import { packageVersion } from './version.js';

/**
 * Each subcommand lives with the process it starts, and is loaded only when
 * it runs: `fabric get` need not load Docker, HAProxy or HTTP server code.
 * Help and unknown commands load them all, so both list every command.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  agent: async () => (await import('../agent/main.js')).agentCommand(),
  router: async () => (await import('../lb/main.js')).routerCommand(),
  up: async () => (await import('../up/command.js')).upCommand(),
  render: async () => (await import('../lb/render-command.js')).renderCommand(),
  apply: async () => (await import('./ctl/commands.js')).applyCommand(),
  get: async () => (await import('./ctl/commands.js')).getCommand(),
  delete: async () => (await import('./ctl/commands.js')).deleteCommand(),
};

async function main(argv: string[]): Promise<void> {
  // A closed pipe or a gone terminal must not kill a command (least of all one that is stopping).
  guardStdio();
  const program = new Command('fabric').description('service discovery and dynamic load balancing for Docker hosts').version(packageVersion());
  const requested = argv[2];
  const names = requested !== undefined && requested in COMMANDS ? [requested] : Object.keys(COMMANDS);
  for (const name of names) program.addCommand(await COMMANDS[name]!());
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const code = err instanceof FabricError ? err.code : 'FABRIC_ERR';
  writeStd('stderr', `fabric: ${code}: ${describeError(err)}\n`);
  process.exit(1);
});
