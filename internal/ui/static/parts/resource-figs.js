// parts/resource-figs.js: the resource figures of a run's windows
// (run.resources.stages, .models, .run: a telemetry summary each) as table
// cells. Every figure is a span.v carrying data-res, its JSON path in the
// window ("cpu_pct.mean", "gpus.0.power_w.mean"), so that tests can compare
// it with the API; an unknown figure is "–", never 0.

import { h } from '../dom.js';
import { NA, bytes, isNum, mib, withUnit } from '../format.js';

// Formats of the figures, units included.
export const pctOf = (x) => withUnit(x, '%');
export const watts = (x) => withUnit(x, 'W');
export const joules = (x) => withUnit(x, 'J');
export const perToken = (x) => withUnit(x, 'J/token');
export const perJoule = (x) => withUnit(x, 'tokens/J');

// read returns the number at a dotted path of obj ("gpus.0.util_pct.mean"),
// null when absent or not a number.
export function read(obj, path) {
  let cur = obj;
  for (const p of path.split('.')) {
    if (cur == null || typeof cur !== 'object') return null;
    cur = cur[p];
  }
  return isNum(cur) ? cur : null;
}

// fig is one figure of window w at path, formatted by fmt.
export function fig(w, path, fmt) {
  return h('span', { class: 'v', dataset: { res: path } }, fmt(read(w, path)));
}

// meanPeak is "mean / peak" of the stat at key.
export function meanPeak(w, key, fmt) {
  return [fig(w, `${key}.mean`, fmt), ' / ', fig(w, `${key}.peak`, fmt)];
}

// gpuLabel names GPU g of a window ("GPU 0").
function gpuLabel(g) {
  return `GPU ${g.index}${g.vendor ? ` (${g.vendor})` : ''}`;
}

// perGPU shows figure(s) of every GPU of window w, one line each, named
// when there are several; "–" when the window has no GPU.
export function perGPU(w, parts) {
  const gpus = (w && w.gpus) || [];
  if (!gpus.length) return NA;
  return gpus.map((g, i) =>
    h('div', { class: 'gpu-fig', title: gpuLabel(g) }, gpus.length > 1 ? h('span', { class: 'note' }, `${g.index}: `) : null, parts(`gpus.${i}`)),
  );
}

// gpuMeanPeak shows each GPU's "mean / peak" of field.
export function gpuMeanPeak(w, field, fmt) {
  return perGPU(w, (p) => meanPeak(w, `${p}.${field}`, fmt));
}

// gpuFig shows each GPU's figure at field.stat.
export function gpuFig(w, path, fmt) {
  return perGPU(w, (p) => fig(w, `${p}.${path}`, fmt));
}

// gpuMemPeak shows each GPU's peak memory in use (MiB → GiB).
export function gpuMemPeak(w) {
  return gpuFig(w, 'mem_used_mib.peak', mib);
}

// bytesFig shows a byte figure in MiB or GiB.
export function bytesFig(w, path) {
  return fig(w, path, bytes);
}

// windowOf finds the resource window of model × scenario ('' scenario: the
// model's whole window) in run.resources; null when absent.
export function windowOf(rs, model, scenario) {
  if (!rs) return null;
  const list = scenario ? rs.stages || [] : rs.models || [];
  return list.find((w) => w.model === model && (!scenario || w.scenario === scenario)) || null;
}
