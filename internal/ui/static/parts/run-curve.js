// parts/run-curve.js: a load sweep's throughput–latency curve (Results
// page): output tokens/s (x) against TTFT and TPOT p50 and p99 (y), one
// line per model and percentile, and each model's knee, which the server
// computes (GET /runs/{id} → curve; docs/metrics.md §7): the page only
// draws it.

import { curveChart, figure } from '../charts.js';
import { h } from '../dom.js';
import { isNum, modelName, num } from '../format.js';

// series are the lines of one metric: per model its p50 (solid) and p99
// (dashed) over the levels that have both figures, and its knee. prefix
// names the side in a comparison ("base · "), and colors start at color.
function series(curve, metric, prefix = '', color = 0) {
  const out = [];
  curve.models.forEach((m, j) => {
    const i = color + j;
    for (const [pct, dashed] of [['p50', false], ['p99', true]]) {
      const key = `${metric}_${pct}_ms`;
      out.push({
        label: `${prefix}${modelName(m.model)} ${pct}`,
        colorIndex: i,
        dashed,
        data: m.points.filter((p) => isNum(p.output_tps) && isNum(p[key])).map((p) => ({ x: p.output_tps, y: p[key], stage: p.stage })),
      });
    }
    const k = m.knee == null ? null : m.points.find((p) => p.stage === m.knee);
    const y = k && k[`${metric}_p50_ms`];
    if (k && isNum(k.output_tps) && isNum(y)) {
      out.push({ label: `${prefix}${modelName(m.model)} knee (${k.stage})`, colorIndex: i, knee: true, data: [{ x: k.output_tps, y, stage: k.stage }] });
    }
  });
  return out;
}

// kneeNote says, per model, where the knee is and what it means.
function kneeNote(curve) {
  const rule = `The knee is the last load level before output throughput gains less than ${num(100 * curve.knee_gain)} % per doubling of the load while ${curve.knee_basis === 'e2e_p50_ms' ? 'E2E p50' : 'TTFT p50'} rises more than ${num(100 * curve.knee_rise)} %: beyond it, more load buys queueing, not throughput.`;
  return h(
    'div',
    { class: 'curve-knees' },
    h('p', { class: 'note' }, rule),
    h(
      'ul',
      null,
      curve.models.map((m) => {
        const k = m.knee == null ? null : m.points.find((p) => p.stage === m.knee);
        return h('li', { 'data-model': m.model, 'data-knee': m.knee == null ? '' : m.knee },
          h('strong', { title: m.model }, modelName(m.model)), k ? `: knee at ${k.stage} (${num(k.output_tps)} output tok/s)` : ': no knee within the levels run');
      }),
    ),
  );
}

// runCurve returns the section's content and a promise that settles when
// both charts are drawn; null when the run is not a sweep.
export function runCurve(curve) {
  if (!curve || !(curve.models || []).length) return null;
  const by = curve.by === 'rate' ? 'arrival rate' : 'concurrency';
  const specs = [
    [`TTFT against output throughput, one point per ${by} level (p50 solid, p99 dashed, ✕ the knee)`, 'chart-curve-ttft', 'ttft', 'time to first token (ms)'],
    [`TPOT against output throughput, one point per ${by} level (p50 solid, p99 dashed, ✕ the knee)`, 'chart-curve-tpot', 'tpot', 'time per output token (ms)'],
  ];
  const figs = specs.map(([title, id]) => figure(title, id));
  const el = h('div', null, h('div', { class: 'charts' }, figs.map((f) => f.fig)), kneeNote(curve));
  const ready = () =>
    Promise.all(
      specs.map(([, , metric, yTitle], i) =>
        curveChart(figs[i].canvas, { series: series(curve, metric), xTitle: 'output throughput (tok/s)', yTitle, xUnit: 'tok/s', yUnit: 'ms' }),
      ),
    );
  return { el, ready };
}

// compareCurves draws two runs' curves on the same axes (the compare view):
// sides is [{ name, curve, model }] — a side's curve limited to its model
// when the comparison names one; a side that is not a sweep is left out.
// It returns null when neither side is a sweep.
export function compareCurves(sides) {
  const shown = sides
    .filter((s) => s.curve && (s.curve.models || []).length)
    .map((s) => ({ ...s, curve: { ...s.curve, models: s.curve.models.filter((m) => !s.model || m.model === s.model) } }))
    .filter((s) => s.curve.models.length);
  if (!shown.length) return null;
  const lines = (metric) => {
    let color = 0;
    return shown.flatMap((s) => {
      const out = series(s.curve, metric, `${s.name} · `, color);
      color += s.curve.models.length;
      return out;
    });
  };
  const specs = [
    ['TTFT against output throughput, both sides (p50 solid, p99 dashed, ✕ each knee)', 'chart-compare-curve-ttft', 'ttft', 'time to first token (ms)'],
    ['TPOT against output throughput, both sides (p50 solid, p99 dashed, ✕ each knee)', 'chart-compare-curve-tpot', 'tpot', 'time per output token (ms)'],
  ];
  const figs = specs.map(([title, id]) => figure(title, id));
  const missing = sides.filter((s) => !shown.some((x) => x.name === s.name)).map((s) => s.name);
  const el = h(
    'div',
    { id: 'compare-curves' },
    h('h3', { class: 'sub-head' }, 'Throughput–latency curves'),
    missing.length ? h('p', { class: 'note' }, `${missing.join(' and ')}: not a load sweep, no curve.`) : null,
    h('div', { class: 'charts' }, figs.map((f) => f.fig)),
  );
  const ready = () =>
    Promise.all(
      specs.map(([, , metric, yTitle], i) =>
        curveChart(figs[i].canvas, { series: lines(metric), xTitle: 'output throughput (tok/s)', yTitle, xUnit: 'tok/s', yUnit: 'ms' }),
      ),
    );
  return { el, ready };
}
