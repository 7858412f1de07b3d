// parts/run-charts.js: the comparison charts of a run (Results page).

import { barChart, figure, radarChart } from '../charts.js';
import { h } from '../dom.js';
import { isNum, modelName } from '../format.js';
import { byKey, ci, modelLabel, modelNames, scenarioKeys, stat } from './groups.js';

// perScenario is a bar chart of one figure per scenario (x) and model (bars).
function perScenario(run, canvas, { read, interval, unit, yTitle }) {
  const groups = run.groups || [];
  const labels = scenarioKeys(groups);
  const find = byKey(groups);
  const series = modelNames(groups).map((m, i) => ({
    label: modelName(m),
    colorIndex: i,
    data: labels.map((k) => read(find(m, k))),
    errorBars: interval ? labels.map((k) => interval(find(m, k))) : undefined,
  }));
  return barChart(canvas, { labels, series, unit, yTitle, xTitle: 'scenario' });
}

// percentiles is a bar chart of p50…p99 of dist per model (pooled rows),
// with the median's CI as an error bar on p50.
function percentiles(run, canvas, dist, title) {
  const fields = ['p50', 'p90', 'p95', 'p99'];
  const series = (run.models || []).map((g, i) => ({
    label: modelLabel(g),
    colorIndex: i,
    data: fields.map((f) => stat(g, dist, f)),
    errorBars: fields.map((f) => (f === 'p50' ? ci(g, dist) : null)),
  }));
  return barChart(canvas, { labels: fields, series, unit: 'ms', yTitle: `${title} (ms)`, xTitle: 'percentile' });
}

// strengths are the radar's axes: each model's figure relative to the best
// model of the run (100 = best); reliability is 100 − error rate %.
const STRENGTHS = [
  ['TTFT', (g) => stat(g, 'ttft_ms', 'p50'), true],
  ['Decode rate', (g) => stat(g, 'decode_tps', 'p50'), false],
  ['Throughput', (g) => (isNum(g.output_tokens_per_s) && g.ok > 0 ? g.output_tokens_per_s : null), false],
  ['E2E p95', (g) => stat(g, 'e2e_ms', 'p95'), true],
];

function radar(run, canvas) {
  const models = run.models || [];
  const axes = STRENGTHS.map((s) => s[0]).concat('Reliability');
  const series = models.map((g, i) => ({
    label: modelLabel(g),
    colorIndex: i,
    data: STRENGTHS.map(([, read, low]) => {
      const v = read(g);
      const all = models.map(read).filter((x) => isNum(x) && x > 0);
      if (!isNum(v) || v <= 0 || !all.length) return null;
      return low ? (Math.min(...all) / v) * 100 : (v / Math.max(...all)) * 100;
    }).concat(g.requests > 0 && isNum(g.error_rate) ? (1 - g.error_rate) * 100 : null),
  }));
  return radarChart(canvas, { axes, series });
}

// runCharts returns the charts section and a promise that settles when
// every chart is drawn.
export function runCharts(run) {
  const specs = [
    ['Output throughput per scenario', 'chart-throughput', (c) => perScenario(run, c, { read: (g) => (g && g.ok > 0 ? g.output_tokens_per_s : null), unit: 'tok/s', yTitle: 'output tokens/s (tok/s)' })],
    ['TTFT p50 per scenario, 95 % CI', 'chart-ttft', (c) => perScenario(run, c, { read: (g) => stat(g, 'ttft_ms', 'p50'), interval: (g) => ci(g, 'ttft_ms'), unit: 'ms', yTitle: 'time to first token (ms)' })],
    ['Decode rate p50 per scenario, 95 % CI', 'chart-decode', (c) => perScenario(run, c, { read: (g) => stat(g, 'decode_tps', 'p50'), interval: (g) => ci(g, 'decode_tps'), unit: 'tok/s', yTitle: 'decode rate (tok/s)' })],
    ['TPOT p50 per scenario, 95 % CI', 'chart-tpot', (c) => perScenario(run, c, { read: (g) => stat(g, 'tpot_ms', 'p50'), interval: (g) => ci(g, 'tpot_ms'), unit: 'ms', yTitle: 'time per output token (ms)' })],
    ['End-to-end latency percentiles (p50 with 95 % CI)', 'chart-e2e-pct', (c) => percentiles(run, c, 'e2e_ms', 'end-to-end latency')],
    ['TTFT percentiles (p50 with 95 % CI)', 'chart-ttft-pct', (c) => percentiles(run, c, 'ttft_ms', 'time to first token')],
    ['Strengths relative to the best model of this run (100 = best)', 'chart-radar', (c) => radar(run, c)],
  ];
  const figs = specs.map(([title, id]) => figure(title, id));
  const el = h('div', { class: 'charts' }, figs.map((f) => f.fig));
  const ready = () => Promise.all(specs.map(([, , draw], i) => draw(figs[i].canvas)));
  return { el, ready };
}
