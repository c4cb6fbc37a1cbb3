import { z } from 'zod';
import { durationSchema } from '../../duration.js';

/**
 * `timeouts: {connect, server, idle}` of a service: to connect to an endpoint, for the endpoint's
 * answer (between reads), and a client's idle keep-alive. Durations ("2s", "500ms") from 1 ms
 * to 1 h, rendered as whole milliseconds.
 */
const timeout = durationSchema({ min: 1, max: 3_600_000 }).refine((ms) => Number.isInteger(ms), { message: 'must be whole milliseconds' });

export const timeoutsSchema = z
  .object({ connect: timeout.optional(), server: timeout.optional(), idle: timeout.optional() })
  .strict()
  .refine((t) => t.connect !== undefined || t.server !== undefined || t.idle !== undefined, { message: 'required: at least one of connect, server, idle' });

export type TimeoutsPolicy = z.infer<typeof timeoutsSchema>;
