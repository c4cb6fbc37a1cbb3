import type { Logger } from '../../../src/log.js';
import { pushPeers, readPeers } from './control.js';
import { heldVersion, type PeerState } from './peers.js';

/** How a push went: `pushed` (read back equal), or `mismatch` after one retry (the caller falls back to reloads). */
export type PushOutcome = { result: 'unchanged' } | { result: 'pushed'; attempts: number } | { result: 'mismatch'; detail: string };

/**
 * The peers nginx's shared dict holds, kept in step with the model through the control socket:
 * push the whole state, read it back, compare; one retry on a mismatch. Level-triggered: what
 * nginx holds is read back again whenever it is not known (after a start, a restart or an adoption).
 */
export class DynamicPeers {
  /** The version nginx was last confirmed to hold; undefined when unknown. */
  private held: string | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly logger: Logger,
  ) {}

  /** nginx started, died or was adopted: its dict is empty or unknown. */
  forget(): void {
    this.held = undefined;
  }

  get heldVersion(): string | undefined {
    return this.held;
  }

  /** Makes nginx hold `state` (a no-op when it already does). */
  async ensure(state: PeerState): Promise<PushOutcome> {
    if (this.held === state.version) return { result: 'unchanged' };
    if (this.held === undefined && (await this.readBack()) === state.text) {
      this.held = state.version;
      return { result: 'unchanged' };
    }
    let detail = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const answer = await pushPeers(this.socketPath, state.text);
        if (answer === state.text) {
          this.held = state.version;
          return { result: 'pushed', attempts: attempt };
        }
        this.held = heldVersion(answer);
        detail = `nginx holds version ${this.held ?? 'none'} after pushing ${state.version}`;
      } catch (err) {
        this.held = undefined;
        detail = (err as Error).message;
      }
      this.logger.warn({ attempt, detail }, 'nginx did not take the peer state');
    }
    return { result: 'mismatch', detail };
  }

  private async readBack(): Promise<string | undefined> {
    try {
      return await readPeers(this.socketPath);
    } catch {
      return undefined;
    }
  }
}
