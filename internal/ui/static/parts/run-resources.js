// parts/run-resources.js: what the machine did during a run (Results
// page): the resources-over-time charts (GET /runs/{id}/resources) with the
// stage boundaries drawn on them, the per-stage and per-model table of
// means, peaks and energy, the sampler's own cost and its notes. A run that
// was not sampled says so in words, never with an empty chart.

import { get, seg } from '../api.js';
import { figure, timeChart } from '../charts.js';
import { errorBox, h, note, replace, tableWrap } from '../dom.js';
import { isNum, modelName, num } from '../format.js';
import { bytesFig, fig, gpuFig, gpuMeanPeak, gpuMemPeak, joules, meanPeak, perJoule, perToken, pctOf, watts } from './resource-figs.js';

const GiB = 2 ** 30;

// notSampled is the text shown instead of charts.
function notSampled(why) {
  return h('p', { class: 'note not-sampled', id: 'resources-not-sampled' }, `Resources: not sampled. ${why}`);
}

// costLine says how the samples were taken and what the sampler cost.
function costLine(rs) {
  const c = rs.cost || {};
  const parts = [`Sampled every ${num(rs.interval_ms, 0)}\u00a0ms`, `${num(rs.samples, 0)} samples`];
  if (isNum(c.pct_of_one_core)) parts.push(`the sampler used ${num(c.pct_of_one_core, 2)}\u00a0% of one core`);
  return h('p', { class: 'note', id: 'sampler-cost' }, parts.join(' · '));
}

// notesList lists the sampler's notes (figures missing or degraded).
function notesList(notes) {
  if (!notes || !notes.length) return null;
  return h('ul', { class: 'notice warn warnings', id: 'resource-notes' }, notes.map((n) => h('li', null, n)));
}

// HEAD is the table's header: [text, explanation].
const HEAD = [
  ['Model'],
  ['Scenario'],
  ['CPU % mean / peak', 'system-wide CPU busy time, all cores (0–100 %)'],
  ['Engine CPU % mean / peak', "the serving process's CPU time in % of one core (400 % = four cores busy)"],
  ['Engine RSS peak', "the serving process's resident memory"],
  ['Memory used peak', 'system memory in use, page cache excluded'],
  ['GPU util mean / peak'],
  ['GPU memory peak'],
  ['GPU power mean', 'board power as the GPU tool reports it'],
  ['Energy', 'integral of the measured power sources over the window (not wall-socket energy)'],
  ['Energy per token', 'energy over the output tokens produced in the window, warm-ups included'],
  ['Tokens per joule'],
  ['Samples'],
];

// tableRow is one window of the table.
function tableRow(w, kind, scenarioText) {
  const td = (...c) => h('td', { class: 'num' }, ...c);
  return h(
    'tr',
    { class: kind === 'stage' ? null : 'pooled', dataset: { kind, model: w.model || '', scenario: w.scenario || '' } },
    h('th', { scope: 'row', title: w.model || null }, w.model ? modelName(w.model) : h('em', null, 'whole run')),
    h('td', null, scenarioText),
    td(meanPeak(w, 'cpu_pct', pctOf)),
    td(meanPeak(w, 'proc_cpu_pct', pctOf)),
    td(bytesFig(w, 'proc_rss_bytes.peak')),
    td(bytesFig(w, 'mem_used_bytes.peak')),
    td(gpuMeanPeak(w, 'util_pct', pctOf)),
    td(gpuMemPeak(w)),
    td(gpuFig(w, 'power_w.mean', watts)),
    td(fig(w, 'energy_j', joules)),
    td(fig(w, 'joules_per_token', perToken)),
    td(fig(w, 'tokens_per_joule', perJoule)),
    td(h('span', { class: 'v', dataset: { res: 'n' } }, num(w.n, 0))),
  );
}

// resourcesTable has one row per stage, then one per model, then the whole
// run when it had several models.
export function resourcesTable(rs) {
  const models = rs.models || [];
  const rows = [
    (rs.stages || []).map((w) => tableRow(w, 'stage', w.scenario)),
    models.map((w) => tableRow(w, 'model', h('em', null, 'all scenarios'))),
    models.length > 1 && rs.run ? tableRow(rs.run, 'run', h('em', null, 'all')) : null,
  ];
  return tableWrap(h('table', { class: 'data resources', id: 'resources-table' }, h('thead', null, h('tr', null, HEAD.map(([t, title]) => h('th', { title }, t)))), h('tbody', null, rows)));
}

// has reports whether some point has a number at read(p).
function has(points, read) {
  return points.some((p) => isNum(read(p)));
}

// gpuKeys lists the GPUs seen in the points as {vendor, index} in order.
function gpuKeys(points) {
  const seen = new Map();
  for (const p of points) for (const g of p.gpus || []) seen.set(`${g.vendor}\u0000${g.index}`, { vendor: g.vendor, index: g.index });
  return [...seen.values()];
}

// gpuReader reads field of GPU k in a point (null when absent).
function gpuReader(k, field) {
  return (p) => {
    const g = (p.gpus || []).find((x) => x.index === k.index && x.vendor === k.vendor);
    return g && isNum(g[field]) ? g[field] : null;
  };
}

// seriesOf turns candidate series {label, read, axis, unit, scale} into
// chart series over the points, keeping only those with some figure.
function seriesOf(points, cands) {
  return cands
    .filter((c) => has(points, c.read))
    .map((c, i) => ({
      label: c.label,
      axis: c.axis,
      unit: c.unit,
      dashed: c.dashed,
      colorIndex: c.colorIndex ?? i,
      data: points.map((p) => {
        const v = c.read(p);
        return { x: p.t_ms / 1000, y: isNum(v) ? v * (c.scale || 1) : null };
      }),
    }));
}

// stageMarks places the stage starts on the time axis (s), labelled with
// the scenario (and the model when the run has several).
function stageMarks(view) {
  const models = new Set(view.windows.map((w) => w.model));
  return view.windows.filter((w) => isNum(w.from_ms)).map((w) => ({ x: w.from_ms / 1000, label: models.size > 1 ? `${modelName(w.model)} · ${w.scenario}` : w.scenario }));
}

// charts builds the charts of the view: utilisation and power, memory.
function charts(view) {
  const pts = view.points;
  const gpus = gpuKeys(pts);
  const gname = (k) => (gpus.length > 1 ? `GPU ${k.index}` : 'GPU');
  const util = [
    { label: 'CPU (all cores) %', read: (p) => p.cpu_pct, unit: '%', axis: 'y', colorIndex: 0 },
    { label: 'engine CPU (% of one core)', read: (p) => p.proc_cpu_pct, unit: '%', axis: 'y', colorIndex: 1 },
    ...gpus.map((k, i) => ({ label: `${gname(k)} util %`, read: gpuReader(k, 'util_pct'), unit: '%', axis: 'y', colorIndex: 2 + 2 * i })),
    ...gpus.map((k, i) => ({ label: `${gname(k)} power W`, read: gpuReader(k, 'power_w'), unit: 'W', axis: 'y1', dashed: true, colorIndex: 3 + 2 * i })),
    { label: 'CPU package power W', read: (p) => p.package_power_w, unit: 'W', axis: 'y1', dashed: true, colorIndex: 7 },
  ];
  const mem = [
    { label: 'memory used GiB', read: (p) => p.mem_used_bytes, scale: 1 / GiB, unit: 'GiB', colorIndex: 0 },
    { label: 'engine RSS GiB', read: (p) => p.proc_rss_bytes, scale: 1 / GiB, unit: 'GiB', colorIndex: 1 },
    ...gpus.map((k, i) => ({ label: `${gname(k)} memory GiB`, read: gpuReader(k, 'mem_used_mib'), scale: 1 / 1024, unit: 'GiB', colorIndex: 2 + 2 * i })),
  ];
  const stages = stageMarks(view);
  const out = [];
  const us = seriesOf(pts, util);
  if (us.length) {
    let top = 100;
    for (const s of us) for (const d of s.data) if (s.axis === 'y' && isNum(d.y)) top = Math.max(top, d.y);
    const axes = { y: { title: 'utilisation (%)', min: 0, max: Math.ceil(top / 100) * 100 }, y1: { title: 'power (W)' } };
    out.push({ title: 'Utilisation and power over time (stage starts marked)', id: 'chart-resources', draw: (c) => timeChart(c, { series: us, axes, stages, xTitle: 'time since sampling started (s)' }) });
  }
  const ms = seriesOf(pts, mem);
  if (ms.length) {
    out.push({ title: 'Memory over time (GiB)', id: 'chart-memory', draw: (c) => timeChart(c, { series: ms, axes: { y: { title: 'memory (GiB)' } }, stages, xTitle: 'time since sampling started (s)' }) });
  }
  return out;
}

// runResources returns the resources block of run and ready(), which
// fetches the samples and draws the charts (settles when they are drawn).
export function runResources(run, signal) {
  const rs = run.resources;
  if (!rs) {
    const text = run.status === 'running' ? note('The resource figures are shown when the run ends.') : notSampled('This run has no resource samples (sampling was off, or the run predates it).');
    return { el: h('div', { id: 'resources' }, text), ready: () => Promise.resolve() };
  }
  const chartsBox = h('div', { id: 'resources-charts' }, note('Loading the resource samples…'));
  const el = h('div', { id: 'resources' }, costLine(rs), chartsBox, h('h3', { class: 'sub-head' }, 'Per stage and per model'), resourcesTable(rs), notesList(rs.notes));
  const ready = async () => {
    let view;
    try {
      view = await get(`/runs/${seg(run.id)}/resources`, { signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      replace(chartsBox, errorBox(e, 'Resource samples'));
      return;
    }
    const specs = view.sampled && view.points.length ? charts(view) : [];
    if (!specs.length) {
      replace(chartsBox, notSampled(view.sampled ? 'The stored series has no figures to plot.' : 'The time series of this run is not stored.'));
      return;
    }
    const figs = specs.map((s) => figure(s.title, s.id));
    const bucket = isNum(view.bucket_ms) ? note(`${num(view.samples, 0)} samples shown as ${num(view.points.length, 0)} points (mean of each ${num(view.bucket_ms / 1000)}\u00a0s).`) : null;
    replace(chartsBox, h('div', { class: 'charts two' }, figs.map((f) => f.fig)), bucket);
    await Promise.all(specs.map((s, i) => s.draw(figs[i].canvas)));
  };
  return { el, ready };
}
