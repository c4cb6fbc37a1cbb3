import { Command } from 'commander';
import { createLogger } from '../src/log.js';
import { addCommonOptions, commonOptions, resolveOptions } from '../src/options.js';
import { onShutdown } from '../src/shutdown.js';
import { addAgentOptions, agentOptions, startAgent } from './start.js';

export function agentCommand(): Command {
  const command = new Command('agent').description("register this host's labelled containers in etcd");
  addAgentOptions(addCommonOptions(command, '127.0.0.1:7070'));
  return command.action(async (_opts, cmd: Command) => runAgent(cmd));
}

async function runAgent(command: Command): Promise<void> {
  const { values } = resolveOptions(command);
  const common = commonOptions(values);
  const agent = agentOptions(values);
  const logger = createLogger(common.logLevel, 'agent');
  await startAgent({ common, agent, logger, onRunning: (stop) => onShutdown(logger, stop) });
}
