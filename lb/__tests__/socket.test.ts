import { describe, expect, it } from 'vitest';
import { parseShowProc } from '../haproxy/socket.js';

// Answers of HAProxy 2.6.12's master CLI, captured on this machine kind.
const HEADER = '#<PID>          <type>          <reloads>       <uptime>        <version>      \n';

describe('parseShowProc', () => {
  const cases: Array<{ name: string; text: string; expected: ReturnType<typeof parseShowProc> }> = [
    {
      name: 'just started',
      text: `${HEADER}16705           master          0 [failed: 0]   0d00h00m00s     2.6.12-1+deb12u4\n# workers\n16707           worker          0               0d00h00m00s     2.6.12-1+deb12u4\n# old workers\n# programs\n\n`,
      expected: { masterPid: 16705, reloads: 0, failedReloads: 0, workers: [16707] },
    },
    {
      name: 'after a reload, with an old worker still finishing its connections',
      text: `${HEADER}16705           master          1 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n# workers\n16711           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n# old workers\n16707           worker          1               0d00h00m01s     2.6.12-1+deb12u4\n# programs\n\n`,
      expected: { masterPid: 16705, reloads: 1, failedReloads: 0, workers: [16711] },
    },
    {
      name: 'after a failed reload',
      text: `${HEADER}16705           master          2 [failed: 1]   0d00h00m01s     2.6.12-1+deb12u4\n# workers\n16711           worker          1               0d00h00m01s     2.6.12-1+deb12u4\n# old workers\n16707           worker          2               0d00h00m01s     2.6.12-1+deb12u4\n# programs\n\n`,
      expected: { masterPid: 16705, reloads: 2, failedReloads: 1, workers: [16711] },
    },
    {
      name: 'several workers (nbproc-style), no old-workers section',
      text: `${HEADER}100 master 12 [failed: 3] 1d02h03m04s 2.6.12\n# workers\n201 worker 0 0d00h00m01s 2.6.12\n202 worker 0 0d00h00m01s 2.6.12\n`,
      expected: { masterPid: 100, reloads: 12, failedReloads: 3, workers: [201, 202] },
    },
    {
      name: 'a master with no worker yet',
      text: `${HEADER}16705           master          0 [failed: 0]   0d00h00m00s     2.6.12\n# workers\n# old workers\n# programs\n`,
      expected: { masterPid: 16705, reloads: 0, failedReloads: 0, workers: [] },
    },
    { name: 'an empty answer (socket closed during a reload)', text: '', expected: undefined },
    { name: 'an error message', text: 'Unknown command. Please enter one of the following commands only :\n  help\n', expected: undefined },
  ];

  it.each(cases)('$name', ({ text, expected }) => {
    expect(parseShowProc(text)).toEqual(expected);
  });
});
