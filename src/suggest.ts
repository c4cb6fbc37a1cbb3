/**
 * "Did you mean …?" for a mistyped key: the known key closest by edit
 * distance, if it is close enough to be a typo rather than another word.
 */
export function closestKey(word: string, known: Iterable<string>): string | undefined {
  const candidates = [...known];
  // `etcd-prefix` or `etcd_prefix` for `etcdPrefix`: the same key in another spelling.
  const folded = fold(word);
  const sameKey = candidates.find((k) => fold(k) === folded);
  if (sameKey) return sameKey;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function fold(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Levenshtein distance (insert, delete, substitute), one row at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
