import type { Logger } from '../../../src/log.js';
import { patchPeers, pushPeers, readPeers } from './control.js';
import { fullText, heldVersion, type PeerState, peerPatch } from './peers.js';

/**
 * How a push went: `pushed` (read back equal; `delta`: only the upstreams that changed went), or
 * `mismatch` after one retry (the caller falls back to reloads).
 */
export type PushOutcome =
  | { result: 'unchanged' }
  | { result: 'pushed'; attempts: number; delta?: { changed: number; removed: number } }
  | { result: 'mismatch'; detail: string };

/**
 * The peers nginx's shared dict holds, kept in step with the model through the control socket.
 * From a state nginx is known to hold, only the upstreams that changed are sent (a patch on that
 * version); otherwise, or if nginx holds something else, the whole state, one retry on a mismatch.
 * Every push is read back and compared. Level-triggered: what nginx holds is read back again
 * whenever it is not known (after a start, a restart or an adoption).
 */
export class DynamicPeers {
  /** The state nginx was last confirmed to hold; undefined when unknown. */
  private held: PeerState | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly logger: Logger,
  ) {}

  /** nginx started, died or was adopted: its dict is empty or unknown. */
  forget(): void {
    this.held = undefined;
  }

  get heldVersion(): string | undefined {
    return this.held?.version;
  }

  /** Makes nginx hold `state` (a no-op when it already does). */
  async ensure(state: PeerState): Promise<PushOutcome> {
    if (this.held?.version === state.version) return { result: 'unchanged' };
    if (this.held) {
      const patched = await this.patch(this.held, state);
      if (patched) return patched;
    } else if ((await this.readBack()) === fullText(state)) {
      this.held = state;
      return { result: 'unchanged' };
    }
    return this.pushWhole(state);
  }

  /** Only what changed since `held`; undefined when nginx did not end up holding `state` (a whole push follows). */
  private async patch(held: PeerState, state: PeerState): Promise<PushOutcome | undefined> {
    const patch = peerPatch(held, state);
    this.held = undefined;
    try {
      const answer = await patchPeers(this.socketPath, patch.text);
      if (answer === patch.expected) {
        this.held = state;
        return { result: 'pushed', attempts: 1, delta: { changed: patch.changed, removed: patch.removed } };
      }
      this.logger.warn(
        { detail: `nginx answered the patch to ${state.version} with version ${heldVersion(answer) ?? 'none'}` },
        'pushing the whole peer state',
      );
    } catch (err) {
      // HTTP 409: nginx holds another version than the patch's base (restarted, or another writer).
      this.logger.warn({ detail: (err as Error).message }, 'pushing the whole peer state');
    }
    return undefined;
  }

  private async pushWhole(state: PeerState): Promise<PushOutcome> {
    const text = fullText(state);
    let detail = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const answer = await pushPeers(this.socketPath, text);
        if (answer === text) {
          this.held = state;
          return { result: 'pushed', attempts: attempt };
        }
        detail = `nginx holds version ${heldVersion(answer) ?? 'none'} after pushing ${state.version}`;
      } catch (err) {
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
