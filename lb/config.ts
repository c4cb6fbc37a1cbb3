import { z } from 'zod';
import { durationSchema } from '../src/duration.js';
import { domain, parseHostPort } from '../src/grammar.js';

const hostPort = z.string().refine((v) => parseHostPort(v) !== undefined, { message: 'must be HOST:PORT' });
const commandTimeout = durationSchema({ min: 100, max: 600_000 }).default(30_000);

const haproxyTargetSchema = z
  .object({
    kind: z.literal('haproxy'),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).optional(),
    http: hostPort.optional(),
    template: z.string().default('templates/haproxy.cfg.hbs'),
    dest: z.string().default('/var/lib/fabric/haproxy/haproxy.cfg'),
    manage: z.boolean().default(true),
    binary: z.string().default('haproxy'),
    reload: z.string().optional(),
    runtimeSocket: z.string().optional(),
    hardStopAfter: z.string().regex(/^\d+(ms|s|m|h)$/).default('30s'),
    maxconn: z.number().int().min(1).optional(),
    commandTimeout,
  })
  .strict();

export const routerConfigSchema = z
  .object({
    domain: domain.optional(),
    vipPool: z.string().optional(),
    vipInterface: z.string().optional(),
    debounce: z
      .object({
        min: durationSchema({ min: 0, max: 60_000 }).default(20),
        max: durationSchema({ min: 1, max: 600_000 }).default(500),
      })
      .strict()
      .default({ min: 20, max: 500 }),
    targets: z.array(z.discriminatedUnion('kind', [haproxyTargetSchema])).default([]),
    confdir: z.string().optional(),
    routerId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).optional(),
  })
  .passthrough();

export type RouterConfig = z.infer<typeof routerConfigSchema>;
export type HaproxyTargetSpec = z.infer<typeof haproxyTargetSchema>;
