import { describe, expect, it } from 'vitest';
import { modelOf } from '../../../__tests__/fixtures.js';
import { desiredHaproxy } from '../../../haproxy/desired.js';
import { diffHaproxy } from '../../../haproxy/diff.js';
import type { ModelIssue } from '../../../model.js';
import { decodeEntry } from '../../../store.js';
import { collectAcme } from '../model-part.js';

const token = 'A'.repeat(43);
const auth = `${token}.${'b'.repeat(43)}`;

describe('the ACME part of the model', () => {
  it('keeps challenges that pass the grammar and reports the others', () => {
    const issues: ModelIssue[] = [];
    const acme = collectAcme(
      [
        decodeEntry(`acme/challenges/${token}`, auth, 1),
        decodeEntry('acme/challenges/short', 'short.x', 1),
        decodeEntry(`acme/challenges/${'C'.repeat(43)}`, `${token}.${'b'.repeat(43)}`, 1), // another token's authorization
        decodeEntry(`acme/challenges/${'D'.repeat(43)}`, 'evil;value', 1),
      ],
      issues,
    );
    expect(acme.challenges).toEqual([[token, auth]]);
    expect(issues.map((i) => i.subject)).toEqual(['acme/challenges/short', `acme/challenges/${'C'.repeat(43)}`, `acme/challenges/${'D'.repeat(43)}`]);
  });

  it('reports a failing certificate as FABRIC_ERR_ACME with the CA’s message, on every router', () => {
    const state = {
      name: 'auto-a.example.com',
      domains: ['a.example.com'],
      failures: 2,
      lastAttemptAt: '2026-01-01T00:00:00Z',
      nextAttemptAt: '2026-01-01T00:00:04Z',
      lastError: 'DNS problem: NXDOMAIN',
    };
    const model = modelOf([decodeEntry('acme/state/auto-a.example.com', JSON.stringify(state), 1), decodeEntry('acme/locks/auto-b.example.com', '{}', 1)]);
    expect(model.issues).toContainEqual({
      code: 'FABRIC_ERR_ACME',
      subject: 'certs/auto-a.example.com',
      message: expect.stringContaining('DNS problem: NXDOMAIN'),
    });
    expect(model.acme?.locks).toEqual(['auto-b.example.com']);
  });

  it('HAProxy: a new challenge is a runtime map update of acme.map, not a reload', () => {
    const before = desiredHaproxy(modelOf([]), new Map()).desired;
    const after = desiredHaproxy(modelOf([decodeEntry(`acme/challenges/${token}`, auth, 1)]), new Map()).desired;
    expect(diffHaproxy(before, after)).toEqual({ kind: 'runtime', ops: [{ kind: 'map', map: 'acme', entries: [[token, auth]] }] });
    expect(diffHaproxy(after, desiredHaproxy(modelOf([]), new Map()).desired)).toEqual({ kind: 'runtime', ops: [{ kind: 'map', map: 'acme', entries: [] }] });
  });
});
