#!/usr/bin/env node
import { describeError, FabricError } from './errors.js';
import { buildProgram } from './program.js';
import { guardStdio, writeStd } from './stdio.js';

async function main(argv: string[]): Promise<void> {
  // A closed pipe or a gone terminal must not kill a command (least of all one that is stopping).
  guardStdio();
  const program = await buildProgram(argv[2]);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const code = err instanceof FabricError ? err.code : 'FABRIC_ERR';
  writeStd('stderr', `fabric: ${code}: ${describeError(err)}\n`);
  process.exit(1);
});
