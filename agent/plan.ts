/** A key as etcd holds it: its value and the lease it is attached to. */
export interface StoredKey {
  value: string;
  lease: string;
}

export interface WritePlan {
  puts: Array<{ key: string; value: string }>;
  deletes: string[];
}

/**
 * Pure diff of what this host should have in etcd against what it has. A key
 * is rewritten only when its value differs or it hangs on another lease (a
 * previous run's, which will expire); an unchanged host plans no write at all.
 */
export function planWrites(desired: ReadonlyMap<string, string>, stored: ReadonlyMap<string, StoredKey>, lease: string): WritePlan {
  const puts: WritePlan['puts'] = [];
  const deletes: string[] = [];
  for (const [key, value] of desired) {
    const current = stored.get(key);
    if (!current || current.value !== value || current.lease !== lease) puts.push({ key, value });
  }
  for (const key of stored.keys()) {
    if (!desired.has(key)) deletes.push(key);
  }
  return { puts, deletes };
}

export function isEmptyPlan(plan: WritePlan): boolean {
  return plan.puts.length === 0 && plan.deletes.length === 0;
}
