import { Command } from 'commander';
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
  cert: async () => (await import('./ctl/commands.js')).certCommand(),
  status: async () => (await import('./ctl/status-command.js')).statusCommand(),
  auth: async () => (await import('./ctl/auth-init.js')).authCommand(),
};

/**
 * Flags that are no setting, so have no FABRIC_* variable (README, "Environment"): they make
 * the command print something and exit instead of running.
 */
export const FLAGS_WITHOUT_VARIABLE = ['--version', '--help'] as const;

/** The `fabric` command tree: with `requested` a known subcommand, that one alone. */
export async function buildProgram(requested?: string): Promise<Command> {
  const program = new Command('fabric').description('service discovery and dynamic load balancing for Docker hosts').version(packageVersion());
  const names = requested !== undefined && requested in COMMANDS ? [requested] : Object.keys(COMMANDS);
  for (const name of names) program.addCommand(await COMMANDS[name]!());
  return program;
}
