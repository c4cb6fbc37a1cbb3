import { z } from 'zod';
import { hostName, ipAddress } from '../grammar.js';

/** `hosts/<host>`: which agent runs where; lives on the agent's lease. */
export const hostRecordSchema = z.object({
  name: hostName,
  address: ipAddress,
  agentVersion: z.string().max(64),
  started: z.string().max(64),
});

export type HostRecord = z.infer<typeof hostRecordSchema>;

export function encodeHost(host: HostRecord): string {
  return JSON.stringify(hostRecordSchema.parse(host));
}

/** A stored host record, or undefined when it does not decode. */
export function decodeHost(raw: string): HostRecord | undefined {
  try {
    const parsed = hostRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
