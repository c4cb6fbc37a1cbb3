import { readFileSync } from 'node:fs';

/**
 * The hard RLIMIT_NOFILE this process (and so the HAProxy it starts) has: HAProxy can raise its
 * soft limit up to it, no further without CAP_SYS_RESOURCE. Linux only (/proc/self/limits); elsewhere,
 * or unlimited, undefined (HAProxy then decides alone).
 */
export function processHardFdLimit(): number | undefined {
  return hardFdLimit(readLimits());
}

/** The hard "Max open files" of a /proc/<pid>/limits text. */
export function hardFdLimit(limitsText: string | undefined): number | undefined {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  if (!hard || hard === 'unlimited') return undefined;
  const value = Number(hard);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
