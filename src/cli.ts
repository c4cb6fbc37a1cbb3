#!/usr/bin/env node
import { Command } from 'commander';
import { agentCommand } from '../agent/main.js';
import { routerCommand } from '../lb/main.js';
import { upCommand } from '../up/command.js';
import { renderCommand } from '../lb/render-command.js';
import { applyCommand, deleteCommand, getCommand } from './ctl/commands.js';
import { FabricError, describeError } from './errors.js';
import { packageVersion } from './version.js';

/** The `fabric` command line: each subcommand lives with the process it starts. */
const program = new Command('fabric')
  .description('service discovery and dynamic load balancing for Docker hosts')
  .version(packageVersion())
  .addCommand(agentCommand())
  .addCommand(routerCommand())
  .addCommand(upCommand())
  .addCommand(renderCommand())
  .addCommand(applyCommand())
  .addCommand(getCommand())
  .addCommand(deleteCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  const code = err instanceof FabricError ? err.code : 'FABRIC_ERR';
  process.stderr.write(`fabric: ${code}: ${describeError(err)}\n`);
  process.exit(1);
});
