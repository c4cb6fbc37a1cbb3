// Charts: uPlot for the service page's time series; tiny inline SVG sparklines for the service list
// (a list row is recreated as it scrolls into view, and an SVG path costs nothing to redraw).
import uPlot from './vendor/uPlot.esm.js';
import { esc } from './util.js';

/** An SVG sparkline of `points` (numbers, oldest first); `cls` colours it. */
export function sparkline(points, cls, label) {
  const values = (points || []).map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0));
  const width = 96;
  const height = 22;
  if (values.length < 2) return `<svg class="spark ${cls}" width="${width}" height="${height}" aria-label="${esc(label)}"></svg>`;
  const max = Math.max(...values, 1e-9);
  const step = width / (values.length - 1);
  const path = values.map((v, i) => `${i ? 'L' : 'M'}${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 3)).toFixed(1)}`).join('');
  return `<svg class="spark ${cls}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${esc(label)}"><path d="${path}"/></svg>`;
}

const COLORS = { '1xx': '#7f8c9a', '2xx': '#1f8a4c', '3xx': '#2b6cb0', '4xx': '#b7791f', '5xx': '#c53030', value: '#2b6cb0' };

/**
 * A time-series chart in `el`: `series` is [{ label, color }], `data` uPlot's columns ([times in s, ...values]).
 * Returns an object whose `update(data)` redraws without rebuilding.
 */
export function timeChart(el, title, series, data) {
  const width = () => Math.max(240, el.clientWidth || 600);
  const opts = {
    title,
    width: width(),
    height: 180,
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, 1)] } },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color ?? COLORS[s.label] ?? COLORS.value, width: 1.5, points: { show: false } }))],
    axes: [{}, { size: 50 }],
  };
  el.innerHTML = '';
  const plot = new uPlot(opts, data, el);
  const onResize = () => plot.setSize({ width: width(), height: 180 });
  window.addEventListener('resize', onResize);
  return {
    update: (next) => plot.setData(next),
    destroy: () => {
      window.removeEventListener('resize', onResize);
      plot.destroy();
    },
  };
}
