// parts/run-dist.js: latency distribution per model (GET
// /runs/{id}/distribution): a CDF and a histogram, metric selectable.

import { get, seg } from '../api.js';
import { figure, histogram, lineChart } from '../charts.js';
import { errorBox, field, h, replace } from '../dom.js';
import { isNum, modelName } from '../format.js';

export const METRICS = [
  ['e2e_ms', 'End-to-end latency'],
  ['ttft_ms', 'Time to first token'],
  ['tpot_ms', 'Time per output token'],
  ['itl_ms', 'Inter-token latency'],
  ['decode_tps', 'Decode rate'],
];

const title = (metric) => (METRICS.find((m) => m[0] === metric) || [metric, metric])[1];

// fetchDist fetches the distribution of metric for run id.
export function fetchDist(id, metric, signal) {
  return get(`/runs/${seg(id)}/distribution?metric=${encodeURIComponent(metric)}&bins=40`, { signal });
}

// draw renders dist (the API's answer) into box; resolves when drawn.
async function draw(box, dist) {
  const unit = dist.unit || '';
  const name = title(dist.metric);
  const models = (dist.models || []).filter((m) => m.n > 0);
  if (!models.length) {
    replace(box, h('p', { class: 'note' }, `No ${name.toLowerCase()} samples in this run (failed requests have none).`));
    return;
  }
  const cdf = figure(`${name}: cumulative distribution`, 'chart-cdf');
  const hist = figure(`${name}: histogram`, 'chart-hist');
  replace(box, h('div', { class: 'charts two' }, cdf.fig, hist.fig), h('p', { class: 'note' }, models.map((m) => `${modelName(m.model)}: n = ${m.n}`).join(' · ')));
  const top = Math.max(...models.flatMap((m) => (m.cdf || []).map((p) => p[1])).filter(isNum), 0);
  const scale = top > 1.0001 ? 1 : 100; // fractions → %
  await Promise.all([
    lineChart(cdf.canvas, {
      series: models.map((m, i) => ({ label: modelName(m.model), colorIndex: i, data: (m.cdf || []).map(([x, p]) => ({ x, y: p * scale })) })),
      xTitle: `${name.toLowerCase()} (${unit})`,
      yTitle: 'requests at or below (%)',
      xUnit: unit,
      yUnit: '%',
      yMax: 100,
      stepped: true,
    }),
    histogram(hist.canvas, {
      series: models.map((m, i) => ({ label: modelName(m.model), colorIndex: i, bins: m.bins || [] })),
      xTitle: `${name.toLowerCase()} (${unit})`,
      unit,
    }),
  ]);
}

// runDist returns the section's element and ready(first), which draws the
// first answer (a promise of the API's distribution) and resolves when done.
export function runDist(id, signal) {
  const box = h('div', { class: 'dist-box' });
  const select = h(
    'select',
    { id: 'dist-metric', name: 'metric' },
    METRICS.map(([v, t]) => h('option', { value: v }, t)),
  );
  select.addEventListener('change', async () => {
    try {
      await draw(box, await fetchDist(id, select.value, signal));
    } catch (e) {
      if (e.name !== 'AbortError') replace(box, errorBox(e, 'Distribution'));
    }
  });
  const el = h('div', null, h('div', { class: 'toolbar' }, field('Metric', select)), box);
  const ready = async (first) => {
    try {
      await draw(box, await first);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      replace(box, errorBox(e, 'Distribution'));
    }
  };
  return { el, ready };
}
