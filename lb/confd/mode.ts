import { z } from 'zod';

/**
 * A file mode written as confd writes it, an octal string: "0644", "644",
 * "0o600". A YAML or TOML number is refused (0644 would be read as decimal).
 */
export const fileModeSchema = z
  .string({ error: 'must be an octal string like "0644" (quoted)' })
  .regex(/^(0o?)?[0-7]{3,4}$/, 'must be an octal mode like "0644"')
  .transform((value) => parseInt(value.replace(/^0o/, ''), 8));
