// parts/run-table.js: the per-scenario detail table of a run, then one
// pooled row per model. Each figure cell carries data-metric (the JSON path
// of the figure in the group) so that tests can compare it with the API.

import { h, tableWrap } from '../dom.js';
import { NA, count, ms, pct, rps, tps } from '../format.js';
import { smallMark } from './badges.js';
import { smallN, stat } from './groups.js';

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
  return parts.join(', ');
}

function row(g, pooled) {
  const fails = failures(g);
  const warnings = g.warnings || [];
  return h(
    'tr',
    { class: pooled ? 'pooled' : null, dataset: { model: g.model, scenario: pooled ? '' : g.scenario, stage: g.stage || null } },
    h('th', { scope: 'row' }, g.model),
    h('td', null, pooled ? h('em', null, 'all scenarios (pooled)') : g.scenario, g.stage ? ` [${g.stage}]` : ''),
    plainCell('ok', `${count(g.ok)} / ${count(g.requests)}`, `${g.ok} ok of ${g.requests} requests; ${g.warmup || 0} warm-up not counted`),
    plainCell('error_rate', pct(g.error_rate), fails || 'no failures'),
    COLS.map(([, dist, field, fmt]) => figureCell(g, dist, field, fmt)),
    plainCell('output_tokens_per_s', g.ok > 0 ? tps(g.output_tokens_per_s) : NA),
    plainCell('requests_per_s', g.ok > 0 ? rps(g.requests_per_s) : NA),
    plainCell('goodput', g.goodput ? pct(g.goodput.fraction) : NA, g.goodput ? `SLO ${g.goodput.slo}: ${g.goodput.good} good requests` : 'no SLO set'),
    plainCell('short_responses', count(g.short_responses)),
    h('td', null, g.token_source || NA),
    h('td', { class: 'warnings' }, warnings.length ? h('ul', null, warnings.map((w) => h('li', null, w))) : NA),
  );
}

// detailTable renders run.groups, then run.models as pooled rows.
export function detailTable(run) {
  const head = h(
    'tr',
    null,
    ['Model', 'Scenario', 'ok / n', 'Error rate'].map((t) => h('th', null, t)),
    COLS.map(([t]) => h('th', null, t)),
    ['Output', 'Requests', 'Goodput', 'Short', 'Tokens from', 'Warnings'].map((t) => h('th', null, t)),
  );
  const body = h('tbody', null, (run.groups || []).map((g) => row(g, false)), (run.models || []).map((g) => row(g, true)));
  return tableWrap(h('table', { class: 'data detail', id: 'detail-table' }, h('thead', null, head), body));
}
