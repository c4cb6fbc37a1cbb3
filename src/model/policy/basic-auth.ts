import { z } from 'zod';

/**
 * `basicAuth: {realm, users: ["name:hash", …]}`: htpasswd lines. Only hashes crypt(3) checks and
 * that are slow to guess: bcrypt (`$2y$`, `$2b$`, `$2a$`) and SHA-512-crypt (`$6$`). Plaintext,
 * MD5 (`$apr1$`, `$1$`), SHA1 (`{SHA}`) and anything else are refused. Both alphabets are
 * `./A-Za-z0-9$` only, so a hash is a bare config token (HAProxy expands `$` only inside quotes)
 * or an htpasswd line, never a variable.
 */
export const AUTH_USER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A realm is a bare token in both configs: no spaces, no quotes. */
export const AUTH_REALM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;
export const SHA512_CRYPT = /^\$6\$(rounds=[1-9][0-9]{3,8}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$/;

export function isAcceptedHash(hash: string): boolean {
  return BCRYPT.test(hash) || SHA512_CRYPT.test(hash);
}

/** Why a hash is refused, naming what it looks like. */
function hashProblem(hash: string): string | undefined {
  if (isAcceptedHash(hash)) return undefined;
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) return 'is an MD5 hash: refused, use bcrypt ($2y$) or SHA-512-crypt ($6$)';
  if (hash.startsWith('{SHA}')) return 'is a SHA1 hash: refused, use bcrypt ($2y$) or SHA-512-crypt ($6$)';
  if (/^\$2[aby]\$/.test(hash)) return 'is not a well-formed bcrypt hash ($2y$NN$ then 53 characters of ./A-Za-z0-9)';
  if (hash.startsWith('$6$')) return 'is not a well-formed SHA-512-crypt hash ($6$[rounds=N$]salt$ then 86 characters)';
  if (hash.startsWith('$')) return 'is a hash fabric does not accept: only bcrypt ($2y$, $2b$, $2a$) or SHA-512-crypt ($6$)';
  return 'looks like a plaintext password: refused, give a bcrypt ($2y$) or SHA-512-crypt ($6$) hash (htpasswd -B, openssl passwd -6)';
}

const userLine = z.string().superRefine((line, ctx) => {
  const colon = line.indexOf(':');
  if (colon < 0) {
    ctx.addIssue({ code: 'custom', message: 'must be an htpasswd line "name:hash"' });
    return;
  }
  const name = line.slice(0, colon);
  if (!AUTH_USER.test(name))
    ctx.addIssue({ code: 'custom', message: 'user name must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)' });
  const problem = hashProblem(line.slice(colon + 1));
  // The hash itself is never echoed in a message.
  if (problem) ctx.addIssue({ code: 'custom', message: `password of user ${AUTH_USER.test(name) ? name : '?'} ${problem}` });
});

export const basicAuthSchema = z
  .object({
    realm: z.string().regex(AUTH_REALM, 'must be 1-64 characters of A-Z a-z 0-9 . _ - (no spaces or quotes)'),
    users: z
      .array(userLine)
      .min(1, 'at least one user')
      .max(256, 'at most 256 users')
      .superRefine((lines, ctx) => {
        const seen = new Set<string>();
        lines.forEach((line, i) => {
          const name = line.split(':', 1)[0]!;
          if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [i], message: `user ${AUTH_USER.test(name) ? name : '?'} is given twice` });
          seen.add(name);
        });
      }),
  })
  .strict();

export type BasicAuthPolicy = z.infer<typeof basicAuthSchema>;

export interface AuthUser {
  name: string;
  hash: string;
}

/** The users of a policy, each re-checked: a renderer only ever sees names and hashes the grammar admits. */
export function authUsers(policy: BasicAuthPolicy): AuthUser[] {
  if (!AUTH_REALM.test(policy.realm)) throw new Error('basicAuth realm escaped validation');
  return policy.users.map((line) => {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!AUTH_USER.test(name) || !isAcceptedHash(hash)) throw new Error('basicAuth user escaped validation');
    return { name, hash };
  });
}

/** A spec as the API shows it: basicAuth users by name, their hashes never (`name:(hidden)`). */
export function withoutHashes<T extends { basicAuth?: BasicAuthPolicy | undefined }>(spec: T): T {
  if (!spec.basicAuth) return spec;
  return { ...spec, basicAuth: { ...spec.basicAuth, users: spec.basicAuth.users.map((line) => `${line.split(':', 1)[0]}:(hidden)`) } };
}
