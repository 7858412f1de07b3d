// parts/engine-series.js: the engine's own view of the run (Results page):
// its queue and cache over time (GET /runs/{id}/engine-series), requests
// running and waiting, KV cache in use, busy slots, or on Ollama the models
// loaded and their VRAM, on a numeric time axis with the stage starts
// marked, so that a TTFT that rose can be read against the queue that
// grew. A figure the engine does not give is not drawn; a failed read is a
// gap, never a 0.

import { get, seg } from '../api.js';
import { figure, timeChart } from '../charts.js';
import { errorBox, h, note, replace } from '../dom.js';
import { isNum, modelName, num } from '../format.js';

const GiB = 2 ** 30;

// CANDIDATES are the figures drawn, each on the requests axis (y) or the
// right-hand one (y1: % of the KV cache, or GiB of VRAM).
const CANDIDATES = [
  { key: 'running', label: 'requests running', unit: 'requests', axis: 'y', colorIndex: 0 },
  { key: 'waiting', label: 'requests waiting', unit: 'requests', axis: 'y', colorIndex: 1 },
  { key: 'slots_busy', label: 'busy slots', unit: 'slots', axis: 'y', colorIndex: 2, dashed: true },
  { key: 'loaded_models', label: 'models loaded', unit: 'models', axis: 'y', colorIndex: 4 },
  { key: 'kv_cache_usage', label: 'KV cache %', unit: '%', axis: 'y1', scale: 100, colorIndex: 3, dashed: true },
  { key: 'vram_bytes', label: 'VRAM GiB', unit: 'GiB', axis: 'y1', scale: 1 / GiB, colorIndex: 5, dashed: true },
];

// seriesOf keeps the candidates some point has, as chart series.
function seriesOf(points) {
  return CANDIDATES.filter((c) => points.some((p) => isNum(p[c.key]))).map((c) => ({
    label: c.label,
    axis: c.axis,
    unit: c.unit,
    dashed: c.dashed,
    colorIndex: c.colorIndex,
    key: c.key,
    data: points.map((p) => ({ x: p.t_ms / 1000, y: isNum(p[c.key]) ? p[c.key] * (c.scale || 1) : null })),
  }));
}

// stageMarks places the stage starts on the time axis (s).
function stageMarks(view) {
  const models = new Set(view.stages.map((s) => s.model));
  return view.stages.map((s) => {
    let label = models.size > 1 ? `${modelName(s.model)} · ${s.scenario}` : s.scenario;
    if (s.stage) label += ` · ${s.stage}`;
    return { x: s.from_ms / 1000, label };
  });
}

// sourcesLine says where each drawn figure was read.
function sourcesLine(view) {
  const parts = Object.entries(view.sources || {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`);
  const head = `${view.engine}, read every ${num(view.interval_ms, 0)}\u00a0ms, ${num(view.samples, 0)} samples`;
  return h('p', { class: 'note', id: 'engine-series-sources' }, parts.length ? `${head} · ${parts.join(' · ')}` : head);
}

// runEngineSeries returns the engine-series block of run and ready(),
// which fetches the series and draws the chart (settles when drawn).
export function runEngineSeries(run, signal) {
  const box = h('div', { id: 'engine-series' }, note("Loading the engine's own figures…"));
  const ready = async () => {
    let view;
    try {
      view = await get(`/runs/${seg(run.id)}/engine-series`, { signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      replace(box, errorBox(e, "The engine's own figures"));
      return;
    }
    const notes = view.notes.length ? h('ul', { class: 'notice warn warnings', id: 'engine-series-notes' }, view.notes.map((n) => h('li', null, n))) : null;
    const series = view.sampled ? seriesOf(view.points) : [];
    if (!series.length) {
      const why = run.status === 'running' ? 'They are shown when the run ends.' : 'This run has none (the engine serves no queue figures, sampling was off, or the run predates them).';
      replace(box, h('p', { class: 'note not-sampled', id: 'engine-series-none' }, `The engine's queue over time: not sampled. ${why}`), notes);
      return;
    }
    const f = figure('The engine\u2019s queue and cache over time (stage starts marked)', 'chart-engine-series');
    const bucket = isNum(view.bucket_ms) ? note(`${num(view.samples, 0)} samples shown as ${num(view.points.length, 0)} points (mean of each ${num(view.bucket_ms / 1000)}\u00a0s).`) : null;
    replace(box, sourcesLine(view), h('div', { class: 'charts' }, f.fig), bucket, notes);
    const right = series.find((s) => s.axis === 'y1');
    const axes = { y: { title: 'requests (slots, models)' }, y1: { title: right && right.unit === 'GiB' ? 'VRAM (GiB)' : 'KV cache (%)' } };
    await timeChart(f.canvas, { series, axes, stages: stageMarks(view), xTitle: 'time since sampling started (s)' });
  };
  return { el: box, ready };
}
