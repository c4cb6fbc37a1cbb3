/**
 * HAProxy's descriptor budget (HAProxy 2.6, checked on this machine): at start it reserves
 * `maxsock = 2 × maxconn + one per server with a check + listeners + a few per thread`, raises
 * RLIMIT_NOFILE to it and, with `strict-limits` (the default since 2.3), refuses to start when the
 * hard limit is lower ("Cannot raise FD limit to N, limit is L"). With no `maxconn` it computes
 * `maxconn = (limit − that reservation) / 2`, so at 19,000 checked slots under a 20,000 limit it
 * silently serves 100 connections at most.
 *
 * The reservation is a worst case: a check holds a descriptor only while it runs (a few ms every
 * `inter`), and an empty slot (`disabled`) never runs one. Every fabric slot carries `check` (the
 * defaults' `default-server check`), so 100,000 endpoints are 120,000+ "checked" servers. This plan
 * keeps connections their share whatever the slot count: past a check budget of a quarter of the
 * limit, `maxconn` is the rest, and `no strict-limits` is rendered when the worst case cannot fit.
 */

/** Listeners, the admin and master sockets, maps, logs, pollers and wake-up pipes per thread. */
export const DESCRIPTOR_OVERHEAD = 512;

/** Checks running at once that the plan leaves room for, at most this share of the limit. */
const CHECK_SHARE = 0.25;

export interface DescriptorInput {
  /** The hard RLIMIT_NOFILE HAProxy inherits; undefined when not known (then HAProxy decides alone). */
  fdLimit: number | undefined;
  /** Servers in the config that carry a check (every slot, filled or empty). */
  checkedServers: number;
  /** The operator's `maxconn`, if set: kept as it is. */
  maxconn: number | undefined;
}

export interface DescriptorPlan {
  /** Rendered as `maxconn`; undefined: not rendered (HAProxy derives it). */
  maxconn: number | undefined;
  /** False: render `no strict-limits` (HAProxy's worst case exceeds the limit, it warns and starts). */
  strictLimits: boolean;
  /** HAProxy's own worst-case count for this config: 2 × maxconn + checked servers + overhead. */
  worstCase: number | undefined;
}

/** Pure: the `maxconn` and strictness to render for a config with this many checked servers. */
export function planDescriptors(input: DescriptorInput): DescriptorPlan {
  const { fdLimit, checkedServers } = input;
  if (fdLimit === undefined) return { maxconn: input.maxconn, strictLimits: true, worstCase: undefined };
  const checkBudget = Math.floor(fdLimit * CHECK_SHARE);
  // Checks within their budget: HAProxy's own derivation leaves connections most of the limit, as before.
  if (checkedServers <= checkBudget) return { maxconn: input.maxconn, strictLimits: true, worstCase: undefined };
  const derived = Math.max(100, Math.floor((fdLimit - checkBudget - DESCRIPTOR_OVERHEAD) / 2));
  const maxconn = input.maxconn ?? derived;
  const worstCase = 2 * maxconn + checkedServers + DESCRIPTOR_OVERHEAD;
  return { maxconn, strictLimits: worstCase <= fdLimit, worstCase };
}

/** How many servers of these backends carry a check: every slot does (the defaults' `default-server check`). */
export function checkedServerCount(backends: ReadonlyArray<{ servers: readonly unknown[] }>): number {
  let count = 0;
  for (const backend of backends) count += backend.servers.length;
  return count;
}

/** HAProxy's own TCP checks of the servers it holds up (the defaults' `default-server check`): at most this many a second. */
export const PASSIVE_CHECKS_PER_SECOND = 1_000;
const PASSIVE_INTER_MIN_MS = 10_000;

/**
 * The `inter` of the defaults' `default-server check`: those checks only confirm, every `inter`,
 * that a server HAProxy holds up still answers (a refused connection marks it down at once, and
 * `downinter 1s` brings it back). At 10 s for every slot, 100,000 endpoints were 10,000 TCP
 * connects a second, ~45 % of a core in HAProxy alone (measured). Past 10,000 unchecked slots the
 * interval grows so that they stay under PASSIVE_CHECKS_PER_SECOND, in doubling steps (10 s, 20 s,
 * 40 s, …), so that a few more endpoints do not change the config. In ms.
 */
export function passiveCheckInterMs(uncheckedSlots: number): number {
  let inter = PASSIVE_INTER_MIN_MS;
  while ((uncheckedSlots * 1_000) / inter > PASSIVE_CHECKS_PER_SECOND) inter *= 2;
  return inter;
}

/** Slots of backends without a check of their own (lb/health/haproxy-checks.ts): the defaults' check is theirs. */
export function uncheckedSlotCount(backends: ReadonlyArray<{ servers: readonly unknown[]; check?: unknown }>): number {
  let count = 0;
  for (const backend of backends) if (!backend.check) count += backend.servers.length;
  return count;
}
