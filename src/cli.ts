#!/usr/bin/env node
import { describeError, FabricError } from './errors.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv[2]);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const code = err instanceof FabricError ? err.code : 'FABRIC_ERR';
  process.stderr.write(`fabric: ${code}: ${describeError(err)}\n`);
  process.exit(1);
});
