// parts/run-table.js: the per-scenario detail table of a run, then one
// pooled row per model. Each figure cell carries data-metric (the JSON path
// of the figure in the group) so that tests can compare it with the API.

import { h, tableWrap } from '../dom.js';
import { NA, count, modelName, ms, pct, rps, tps } from '../format.js';
import { smallMark } from './badges.js';
import { smallN, stat } from './groups.js';
import { fig, gpuMeanPeak, meanPeak, pctOf, perToken, windowOf } from './resource-figs.js';
import { droppedCell, droppedHead, openLoopOf, stopNotes } from './open-loop.js';

// ENGINE_COLS are the engine's own per-response figures (group.engine),
// shown when some group has them.
const ENGINE_COLS = [
  ['Engine TTFT p50', 'ttft_ms', ms, "the engine's own time to first token (its timings), median"],
  ['Client − engine p50', 'overhead_ms', ms, 'client TTFT minus engine TTFT per request, median: time outside the engine (network, queueing, client)'],
  ['Engine decode p50', 'decode_tps', tps, "the engine's own decode rate (its tokens over its decode time), median"],
];

const COLS = [
  ['TTFT p50', 'ttft_ms', 'p50', ms],
  ['TTFT p95', 'ttft_ms', 'p95', ms],
  ['TTFT p99', 'ttft_ms', 'p99', ms],
  ['TPOT p50', 'tpot_ms', 'p50', ms],
  ['Decode p50', 'decode_tps', 'p50', tps],
  ['E2E p50', 'e2e_ms', 'p50', ms],
  ['E2E p95', 'e2e_ms', 'p95', ms],
  ['E2E p99', 'e2e_ms', 'p99', ms],
];

function figureCell(g, dist, field, fmt) {
  const v = stat(g, dist, field);
  const n = g[dist] ? g[dist].n : 0;
  return h(
    'td',
    { class: 'num', dataset: { metric: `${dist}.${field}` } },
    h('span', { class: 'v' }, fmt(v)),
    v != null && smallN(field, n) ? smallMark('*', `${field} from only ${n} samples: close to the max; run more requests for a stable figure`) : null,
  );
}

function plainCell(metric, text, title) {
  return h('td', { class: 'num', dataset: { metric }, title }, h('span', { class: 'v' }, text));
}

function failures(g) {
  const f = g.failures || {};
  const parts = Object.entries(f)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  if (g.canceled) parts.push(`canceled ${g.canceled}`);
  const c = g.failure_classes || {};
  const classes = ['transient', 'permanent', 'other'].filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  if (classes.length) parts.push(`by class: ${classes.join(', ')}`);
  return parts.join(', ');
}

// retryMark shows group g's user retries (--retries): the first attempt's
// error rate beside the final one, retries and recovered requests; null
// when no request was retried.
function retryMark(g) {
  const r = g.retries;
  if (!r) return null;
  const c = r.first_attempt_classes || {};
  const title = `first attempt: ${pct(r.first_attempt_error_rate)} failed (${c.transient || 0} transient, ${c.permanent || 0} permanent, ${c.other || 0} other); ` +
    `${r.retries} ${r.retries === 1 ? 'retry' : 'retries'}, ${r.recovered} recovered (their latency counts from the first attempt), ${r.failed_after_retries} failed after retrying`;
  return h(
    'span',
    { class: 'retries', title },
    h('span', { dataset: { metric: 'retries.first_attempt_error_rate' } }, ` first ${pct(r.first_attempt_error_rate)}`),
    h('span', { dataset: { metric: 'retries.recovered' } }, ` ↺${count(r.recovered)}`),
  );
}

// errorCell shows group g's error rate, marked with its connection retries:
// requests sent once more because the server had closed the reused
// connection before any response byte (never failures, never hidden).
function errorCell(g, fails) {
  const n = g.connection_retries || 0;
  const retries = `${n} connection ${n === 1 ? 'retry' : 'retries'}: the server closed a reused connection before answering, so the request was sent once more on a new one (timed from that sending)`;
  return h(
    'td',
    { class: 'num', dataset: { metric: 'error_rate' }, title: fails || 'no failures' },
    h('span', { class: 'v' }, pct(g.error_rate)),
    n > 0 ? h('span', { class: 'retries', dataset: { metric: 'connection_retries' }, title: retries }, ` ↻${count(n)}`) : null,
    retryMark(g),
  );
}

// engineCells shows group g's engine figures (– where it has none).
function engineCells(g) {
  const e = g.engine || null;
  return [
    ENGINE_COLS.map(([, key, fmt]) => plainCell(`engine.${key}.p50`, fmt(e ? stat(e, key, 'p50') : null))),
    plainCell('engine.n', e ? count(e.n) : NA, "responses that carried the engine's own timings"),
  ];
}

// inputCells shows group g's input lengths (suite input_tokens): the mean
// length asked for, the engine's own mean count beside it (the difference
// as its title), and how the prompts were made that long (methods: model ×
// scenario → input_length_method).
function inputCells(g, methods, pooled) {
  const f = g.input_length || null;
  const one = (v) => (v == null ? NA : v.toFixed(1));
  const diff = f && f.difference != null ? `${(100 * f.difference).toFixed(2)} % from the length asked for; ${f.off} of ${f.n} requests more than 1 % off` : 'no engine count';
  return [
    plainCell('input_length.requested_mean', f ? one(f.requested_mean) : NA, 'input tokens asked for, mean over ok requests'),
    plainCell('input_length.measured_mean', f ? one(f.measured_mean) : NA, f ? diff : 'no input length asked for'),
    h('td', null, pooled || !f ? NA : methods.get(`${g.model}\u0000${g.scenario}`) || NA),
  ];
}

// resourceCells shows the resource window of group g: CPU and GPU
// utilisation mean / peak, and energy per token.
function resourceCells(rs, g, pooled) {
  const w = g.stage ? null : windowOf(rs, g.model, pooled ? '' : g.scenario);
  const td = (...c) => h('td', { class: 'num res' }, ...c);
  return [td(w ? meanPeak(w, 'cpu_pct', pctOf) : NA), td(w ? gpuMeanPeak(w, 'util_pct', pctOf) : NA), td(w ? fig(w, 'joules_per_token', perToken) : NA)];
}

function row(g, pooled, opts) {
  const fails = failures(g);
  const warnings = [...(g.warnings || []), ...stopNotes(opts.openLoop, g, pooled)];
  return h(
    'tr',
    { class: pooled ? 'pooled' : null, dataset: { model: g.model, scenario: pooled ? '' : g.scenario, stage: g.stage || null } },
    h('th', { scope: 'row', title: g.model }, modelName(g.model)),
    h('td', null, pooled ? h('em', null, 'all scenarios (pooled)') : g.scenario, g.stage ? ` [${g.stage}]` : ''),
    plainCell('ok', `${count(g.ok)} / ${count(g.requests)}`, `${g.ok} ok of ${g.requests} requests; ${g.warmup || 0} warm-up not counted`),
    errorCell(g, fails),
    opts.openLoop.drops ? droppedCell(opts.openLoop, g, pooled) : null,
    COLS.map(([, dist, field, fmt]) => figureCell(g, dist, field, fmt)),
    plainCell('output_tokens_per_s', g.ok > 0 ? tps(g.output_tokens_per_s) : NA),
    plainCell('requests_per_s', g.ok > 0 ? rps(g.requests_per_s) : NA),
    plainCell('goodput', g.goodput ? pct(g.goodput.fraction) : NA, g.goodput ? `SLO ${g.goodput.slo}: ${g.goodput.good} good requests${g.goodput.first_attempt_fraction != null ? `; ${pct(g.goodput.first_attempt_fraction)} at the first attempt` : ''}` : 'no SLO set'),
    plainCell('short_responses', count(g.short_responses)),
    opts.engine ? engineCells(g) : null,
    opts.input ? inputCells(g, opts.inputMethods, pooled) : null,
    opts.resources ? resourceCells(opts.resources, g, pooled) : null,
    h('td', null, g.token_source || NA),
    h('td', { class: 'warnings' }, warnings.length ? h('ul', null, warnings.map((w) => h('li', null, w))) : NA),
  );
}

// detailTable renders run.groups, then run.models as pooled rows; with
// the engine's own figures when some group has them, and resource columns
// (CPU and GPU utilisation mean / peak, J/token) when the run was sampled.
export function detailTable(run) {
  const opts = {
    engine: [...(run.groups || []), ...(run.models || [])].some((g) => g.engine && g.engine.n > 0),
    resources: run.resources || null,
    openLoop: openLoopOf(run),
    input: [...(run.groups || [])].some((g) => g.input_length),
    inputMethods: new Map(((run.suite && run.suite.input_lengths && run.suite.input_lengths.prompts) || []).map((p) => [`${p.model}\u0000${p.scenario}`, p.method])),
  };
  const th = (t, title) => h('th', { title }, t);
  const head = h(
    'tr',
    null,
    ['Model', 'Scenario', 'ok / n', 'Error rate'].map((t) => th(t)),
    opts.openLoop.drops ? droppedHead() : null,
    COLS.map(([t]) => th(t)),
    ['Output', 'Requests', 'Goodput', 'Short'].map((t) => th(t)),
    opts.engine ? [ENGINE_COLS.map(([t, , , title]) => th(t, title)), th('Engine n', "responses that carried the engine's own timings")] : null,
    opts.input ? [th('Input asked', 'input tokens asked for (input_tokens), mean'), th('Input counted', "the engine's own count of the input tokens, mean"), th('Length by', 'how the prompts were made that long: tokenizer, calibration, gguf or estimate')] : null,
    opts.resources ? [th('CPU % mean / peak'), th('GPU util mean / peak'), th('Energy per token')] : null,
    ['Tokens from', 'Warnings'].map((t) => th(t)),
  );
  const body = h('tbody', null, (run.groups || []).map((g) => row(g, false, opts)), (run.models || []).map((g) => row(g, true, opts)));
  return tableWrap(h('table', { class: 'data detail', id: 'detail-table' }, h('thead', null, head), body));
}
