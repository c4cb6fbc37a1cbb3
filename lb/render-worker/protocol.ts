import type { ErrorCode } from '../../src/errors.js';

/** One render: the view without its backends, and each backend as [id, its view, or null when the thread has it]. */
export interface RenderRequest {
  id: number;
  templatePath: string;
  view: Record<string, unknown>;
  backends: Array<[number, unknown]>;
}

export type RenderReply = { id: number; text: string } | { id: number; error: { code: ErrorCode; message: string } };
