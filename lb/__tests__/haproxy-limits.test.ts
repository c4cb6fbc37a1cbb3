import { describe, expect, it } from 'vitest';
import { desiredHaproxy } from '../haproxy/desired.js';
import { hardFdLimit, processHardFdLimit } from '../haproxy/fd-limit.js';
import {
  checkedServerCount,
  DESCRIPTOR_OVERHEAD,
  PASSIVE_CHECKS_PER_SECOND,
  passiveCheckInterMs,
  planDescriptors,
  uncheckedSlotCount,
} from '../haproxy/limits.js';
import { haproxyView } from '../haproxy/view.js';
import { buildModel } from '../model.js';
import { createTemplateEngine, loadTemplate, templatePath } from '../render.js';

describe('planDescriptors (HAProxy: 2 × maxconn + a descriptor per checked server)', () => {
  it('leaves HAProxy alone while the checked servers fit in a quarter of the limit', () => {
    expect(planDescriptors({ fdLimit: 20_000, checkedServers: 5_000, maxconn: undefined })).toEqual({
      maxconn: undefined,
      strictLimits: true,
      worstCase: undefined,
    });
    expect(planDescriptors({ fdLimit: 20_000, checkedServers: 400, maxconn: 3_000 }).maxconn).toBe(3_000);
  });

  it('past the budget, maxconn keeps its share and strict-limits goes only when the worst case cannot fit', () => {
    // 2,000 backends × 10 slots: HAProxy alone would refuse ("Cannot raise FD limit to 20228").
    const big = planDescriptors({ fdLimit: 20_000, checkedServers: 20_000, maxconn: undefined });
    expect(big.maxconn).toBe(Math.floor((20_000 - 5_000 - DESCRIPTOR_OVERHEAD) / 2));
    expect(big.strictLimits).toBe(false);
    expect(big.worstCase).toBe(2 * big.maxconn! + 20_000 + DESCRIPTOR_OVERHEAD);
    // 6,000 checked servers and a small maxconn fit: strict stays.
    expect(planDescriptors({ fdLimit: 20_000, checkedServers: 6_000, maxconn: 1_000 })).toEqual({
      maxconn: 1_000,
      strictLimits: true,
      worstCase: 2_000 + 6_000 + DESCRIPTOR_OVERHEAD,
    });
  });

  it('never derives less than 100 connections, and with no known limit changes nothing', () => {
    expect(planDescriptors({ fdLimit: 600, checkedServers: 5_000, maxconn: undefined }).maxconn).toBe(100);
    expect(planDescriptors({ fdLimit: undefined, checkedServers: 1e6, maxconn: 7 })).toEqual({ maxconn: 7, strictLimits: true, worstCase: undefined });
  });

  it('counts every slot of every backend', () => {
    expect(checkedServerCount([{ servers: [1, 2, 3, 4] }, { servers: [] }, { servers: [1, 2, 3, 4, 5, 6, 7, 8] }])).toBe(12);
  });
});

describe("passiveCheckInterMs (the defaults' TCP checks of servers held up)", () => {
  it('is 10 s up to 10,000 slots, then doubles so that they stay under 1,000 checks a second', () => {
    expect(passiveCheckInterMs(0)).toBe(10_000);
    expect(passiveCheckInterMs(10_000)).toBe(10_000);
    expect(passiveCheckInterMs(10_001)).toBe(20_000);
    expect(passiveCheckInterMs(120_000)).toBe(160_000);
    for (const slots of [1, 9_999, 15_000, 40_001, 100_000, 1_000_000]) {
      const inter = passiveCheckInterMs(slots);
      expect((slots * 1_000) / inter).toBeLessThanOrEqual(PASSIVE_CHECKS_PER_SECOND);
      // The smallest step that fits: half of it would not.
      if (inter > 10_000) expect((slots * 1_000) / (inter / 2)).toBeGreaterThan(PASSIVE_CHECKS_PER_SECOND);
    }
  });

  it('is what the default template prints in the defaults', async () => {
    const model = buildModel([], 1, { domain: undefined });
    const { desired } = desiredHaproxy(model, new Map());
    const files = { config: '/c', hostsMap: '/h', pathsMap: '/p', acmeMap: '/a', adminSocket: '/s', masterSocket: '/m' };
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/haproxy.cfg.hbs'));
    const render = (passiveCheckInterMs?: number) =>
      template(haproxyView(desired, model, files, { http: undefined, hardStopAfter: '1s', maxconn: undefined, passiveCheckInterMs }));
    expect(render()).toMatch(/^ {2}default-server check inter 10s downinter 1s /m);
    expect(render(passiveCheckInterMs(120_000))).toMatch(/^ {2}default-server check inter 160s downinter 1s /m);
  });

  it('counts the slots of backends without a check of their own', () => {
    expect(uncheckedSlotCount([{ servers: [1, 2, 3, 4] }, { servers: [1, 2, 3, 4], check: {} }, { servers: [1, 2] }])).toBe(6);
  });
});

describe('hardFdLimit (/proc/self/limits)', () => {
  const limits = (line: string) => `Limit                     Soft Limit           Hard Limit           Units     \n${line}\n`;
  it('reads the hard limit', () => {
    expect(hardFdLimit(limits('Max open files            1024                 20000                files     '))).toBe(20_000);
  });
  it('is undefined when unlimited, absent or unreadable', () => {
    expect(hardFdLimit(limits('Max open files            unlimited            unlimited            files     '))).toBeUndefined();
    expect(hardFdLimit(limits('Max processes             1024                 1024                 processes '))).toBeUndefined();
    expect(hardFdLimit(undefined)).toBeUndefined();
  });
  it('reads this process on Linux', () => {
    if (process.platform === 'linux') expect(processHardFdLimit()).toBeGreaterThan(0);
  });
});
