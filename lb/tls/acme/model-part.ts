import type { z } from 'zod';
import { describeError } from '../../../src/errors.js';
import { decodeJson } from '../../../src/model/codec.js';
import type { Entry } from '../../../src/model/entry.js';
import { type CertSummary, certSummary } from '../../../src/tls/cert-record.js';
import type { ModelIssue } from '../../model/types.js';
import { AcmeKeys, isKeyAuthorization, isToken } from './keys.js';
import { type AcmeState, acmeStateSchema } from './records.js';

/** What the model knows of ACME and certificates: read by every router, whether it orders or not. */
export interface AcmeModel {
  /** token → key authorization, by token: what every HTTP frontend answers at /.well-known/acme-challenge/. */
  challenges: Array<[string, string]>;
  /** Stored certificates (`certs/<name>`), by name: which hosts are covered, until when. */
  certs: CertSummary[];
  /** Each certificate's last ACME attempt and its backoff, by name. */
  states: AcmeState[];
  /** Certificates someone asked to renew now (`acme/renew/<name>`). */
  renewals: string[];
  /** Certificates some router is ordering now. */
  locks: string[];
}

export function emptyAcmeModel(): AcmeModel {
  return { challenges: [], certs: [], states: [], renewals: [], locks: [] };
}

/**
 * Pure: the ACME and certificate keys among `entries` (sorted by key) → the model's part.
 * A value that fails its grammar is reported and left out: it never reaches a map or a file.
 * A failing certificate is reported with the CA's message (FABRIC_ERR_ACME) on every router.
 */
export function collectAcme(entries: Iterable<Entry>, issues: ModelIssue[]): AcmeModel {
  const acme = emptyAcmeModel();
  for (const entry of entries) {
    // Certificates are decoded (and a bad one reported) by the store; ACME needs only their summary.
    if (entry.kind === 'cert') acme.certs.push(certSummary(entry.cert));
    if (entry.kind !== 'other') continue;
    const { key, raw } = entry;
    if (key.startsWith(AcmeKeys.challengesRoot)) {
      const token = key.slice(AcmeKeys.challengesRoot.length);
      const value = raw.trim();
      if (isToken(token) && isKeyAuthorization(token, value)) acme.challenges.push([token, value]);
      else issues.push({ code: 'FABRIC_ERR_DECODE', subject: key, message: 'not an ACME token and its key authorization' });
    } else if (key.startsWith(AcmeKeys.stateRoot)) {
      const state = parse(acmeStateSchema, key, raw, issues);
      if (state && AcmeKeys.state(state.name) === key) {
        acme.states.push(state);
        if (state.failures > 0) issues.push(failureIssue(state));
      }
    } else if (key.startsWith(AcmeKeys.renewRoot)) {
      acme.renewals.push(key.slice(AcmeKeys.renewRoot.length));
    } else if (key.startsWith(AcmeKeys.locksRoot)) {
      acme.locks.push(key.slice(AcmeKeys.locksRoot.length));
    }
  }
  return acme;
}

function failureIssue(state: AcmeState): ModelIssue {
  const next = state.nextAttemptAt ? `; next attempt at ${state.nextAttemptAt}` : '';
  return {
    code: 'FABRIC_ERR_ACME',
    subject: AcmeKeys.cert(state.name),
    message: `${state.lastError ?? 'order failed'} (${state.domains.join(', ')}: ${state.failures} failed attempt${state.failures === 1 ? '' : 's'}${next})`,
  };
}

function parse<T extends z.ZodType>(schema: T, key: string, raw: string, issues: ModelIssue[]): z.infer<T> | undefined {
  try {
    return decodeJson(schema, key, raw);
  } catch (err) {
    issues.push({ code: 'FABRIC_ERR_DECODE', subject: key, message: describeError(err) });
    return undefined;
  }
}
