// parts/run-context.js: a context sweep's figures (Results page): TTFT,
// prefill rate and TPOT against input tokens on a numeric logarithmic x
// axis, one line per model (p50 solid, mean dashed), each model's fitted
// prefill rate, and the lengths skipped or cut. The server computes every
// figure (GET /runs/{id} → context_sweep; docs/metrics.md §13): the page
// only draws them.

import { figure, lineChart } from '../charts.js';
import { h } from '../dom.js';
import { isNum, modelName, num } from '../format.js';

// METRICS are the charts: [title, canvas id, p50 key, mean key, y title, unit].
const METRICS = [
  ['Time to first token against input tokens (p50 solid, mean dashed)', 'chart-context-ttft', 'ttft_p50_ms', 'ttft_mean_ms', 'time to first token (ms)', 'ms'],
  ['Prefill rate (input tokens ÷ TTFT) against input tokens (p50 solid, mean dashed)', 'chart-context-prefill', 'prefill_tps_p50', 'prefill_tps_mean', 'prefill rate (tok/s)', 'tok/s'],
  ['Time per output token against input tokens (p50 solid, mean dashed)', 'chart-context-tpot', 'tpot_p50_ms', 'tpot_mean_ms', 'time per output token (ms)', 'ms'],
];

// series are one metric's lines: per model its p50 and its mean over the
// lengths that ran with both the input count and the figure.
export function contextSeries(sweep, p50Key, meanKey) {
  const out = [];
  sweep.models.forEach((m, i) => {
    for (const [key, label, dashed] of [[p50Key, 'p50', false], [meanKey, 'mean', true]]) {
      out.push({
        label: `${modelName(m.model)} ${label}`,
        colorIndex: i,
        dashed,
        data: m.points.filter((p) => !p.skipped && isNum(p.input_tokens) && isNum(p[key])).map((p) => ({ x: p.input_tokens, y: p[key] })),
      });
    }
  });
  return out;
}

// notes says, per model, the fitted prefill rate and which lengths were
// skipped or cut.
function notes(sweep) {
  return h(
    'ul',
    { class: 'context-notes' },
    sweep.models.map((m) => {
      const f = m.prefill_fit;
      const skipped = m.points.filter((p) => p.skipped).map((p) => p.requested);
      const cut = m.points.filter((p) => p.truncated).map((p) => p.requested);
      return h(
        'li',
        { 'data-model': m.model, 'data-prefill': f ? String(f.tps) : '' },
        h('strong', { title: m.model }, modelName(m.model)),
        f ? `: prefill ${num(f.tps)} tok/s fitted over ${f.points} lengths (TTFT ≈ ${num(f.fixed_ms)} ms + input tokens ÷ ${num(f.tps)}/s)` : ': no prefill rate fitted (fewer than two lengths ran)',
        skipped.length ? `; skipped (beyond the context window): ${skipped.join(', ')}` : '',
        cut.length ? `; cut by the engine (fewer input tokens counted than sent): ${cut.join(', ')}` : '',
      );
    }),
  );
}

// runContextSweep returns the section's content and a promise that settles
// when the charts are drawn; null when the run is not a context sweep.
export function runContextSweep(sweep) {
  if (!sweep || !(sweep.models || []).length) return null;
  const figs = METRICS.map(([title, id]) => figure(title, id));
  const el = h('div', null, h('div', { class: 'charts' }, figs.map((f) => f.fig)), notes(sweep));
  const ready = () =>
    Promise.all(
      METRICS.map(([, , p50, mean, yTitle, unit], i) =>
        lineChart(figs[i].canvas, { series: contextSeries(sweep, p50, mean), xTitle: 'input tokens (log scale)', yTitle, xUnit: 'input tokens', yUnit: unit, points: true, xLog: true }),
      ),
    );
  return { el, ready };
}
