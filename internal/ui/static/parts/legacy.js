// parts/legacy.js: the figures of a run imported from the original
// FLPerformance (run.legacy), as it computed them, with the method behind
// each and what it got wrong. Shown apart from flperf's figures.

import { h, tableWrap } from '../dom.js';
import { NA } from '../format.js';

// fig shows one of the original's numbers as stored, to two decimals.
function fig(v) {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.round(v * 100) / 100) : NA;
}

function okOfN(r) {
  if (r.successful_iterations != null && r.total_iterations != null) return `${r.successful_iterations}/${r.total_iterations}`;
  const its = r.iterations || [];
  if (!its.length) return NA;
  return `${its.filter((i) => !i.error && !i.timeout).length}/${its.length}`;
}

// legacyBlock renders run.legacy.
export function legacyBlock(l) {
  const cols = ['Model', 'Scenario', 'tps*', 'ttft (upper median)', 'tpot*', 'gen_tps*', 'latency p50 (nearest rank)', 'p95', 'p99', 'error %', 'timeout %', 'ok/N'];
  const keys = ['tps', 'ttft', 'tpot', 'gen_tps', 'latency_p50', 'latency_p95', 'latency_p99', 'error_rate', 'timeout_rate'];
  const rows = (l.results || []).map((r) =>
    h('tr', { dataset: { model: r.model, scenario: r.scenario } }, h('td', null, r.model), h('td', null, r.scenario), keys.map((k) => h('td', { class: 'num', dataset: { key: k } }, fig(r[k]))), h('td', { class: 'num' }, okOfN(r))),
  );
  return h(
    'div',
    { id: 'legacy-figures' },
    h('div', { class: 'notice warn legacy-notice', role: 'note' }, h('strong', null, 'LEGACY'), ` — imported from the original FLPerformance (${l.source}, run ${l.original_id}, status ${l.original_status || NA}). These are its own figures, kept as it computed them: they are not flperf's and are never compared with them.`),
    rows.length ? tableWrap(h('table', { class: 'data legacy' }, h('thead', null, h('tr', null, cols.map((c) => h('th', null, c)))), h('tbody', null, rows))) : h('p', { class: 'note' }, 'The original stored no result rows for this run.'),
    h('p', { class: 'note' }, '* per second / per gap of content chunks when streaming, not tokens; times in ms.'),
    h('h3', { class: 'sub-head' }, 'What the original got wrong'),
    h('ul', { class: 'legacy-caveats' }, (l.caveats || []).map((c) => h('li', { dataset: { key: c.key } }, c.text))),
    h('h3', { class: 'sub-head' }, 'Methods of the original'),
    h('dl', { class: 'legacy-methods' }, (l.methods || []).map((m) => [h('dt', null, m.field), h('dd', null, m.method)])),
  );
}
