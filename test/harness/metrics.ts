// Reading Prometheus text format, as fabric's /metrics serves it.

/** Sums the series of `name` whose labels include `labels` (others, like component, are ignored); 0 when none does. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return matchingSeries(text, name, labels).reduce((total, value) => total + value, 0);
}

/** Like metricSum, but a series that is not there is an error, not 0. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const values = matchingSeries(text, name, labels);
  if (!values.length) throw new Error(`no series ${name}${JSON.stringify(labels)} in metrics`);
  return values.reduce((total, value) => total + value, 0);
}

function matchingSeries(text: string, name: string, labels: Record<string, string>): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const seriesLabels: Record<string, string> = {};
    for (const m of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) seriesLabels[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => seriesLabels[k] === v)) values.push(Number(match[4]));
  }
  return values;
}
