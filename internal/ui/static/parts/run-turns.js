// parts/run-turns.js: the per-turn figures of a run's conversation
// scenarios (group.turns, docs/metrics.md §12): for each turn, the ok
// requests, their TTFT, the mean input and cached tokens and the cached
// share. Each figure cell carries data-metric (its key in the turn) and
// data-value (the API's number) so that tests can compare it with the API.

import { h, tableWrap } from '../dom.js';
import { NA, count, modelName, ms, num, pct } from '../format.js';

// hasTurns reports whether some group of the run is a conversation's.
export function hasTurns(run) {
  return (run.groups || []).some((g) => (g.turns || []).length > 0);
}

function cell(metric, v, text) {
  return h('td', { class: 'num', dataset: { metric, value: v == null ? '' : String(v) } }, h('span', { class: 'v' }, text));
}

// turnsTable is the table of every conversation group's turns.
export function turnsTable(run) {
  const groups = (run.groups || []).filter((g) => (g.turns || []).length > 0);
  const stage = groups.some((g) => g.stage);
  const head = h(
    'tr',
    null,
    h('th', null, 'Model'),
    h('th', null, 'Scenario'),
    stage ? h('th', null, 'Load') : null,
    h('th', { class: 'num' }, 'Turn'),
    h('th', { class: 'num', title: 'requests of the turn; a failed turn ends its conversation' }, 'Requests'),
    h('th', { class: 'num' }, 'OK'),
    h('th', { class: 'num' }, 'TTFT p50'),
    h('th', { class: 'num' }, 'TTFT mean'),
    h('th', { class: 'num', title: 'mean input tokens of the turn' }, 'Input tokens'),
    h('th', { class: 'num', title: 'mean input tokens the engine said its prefix cache served' }, 'Cached tokens'),
    h('th', { class: 'num', title: 'Σ cached ÷ Σ input tokens' }, 'Cached share'),
  );
  const rows = [];
  for (const g of groups) {
    for (const t of g.turns) {
      const ttft = t.ttft_ms || {};
      rows.push(
        h(
          'tr',
          { dataset: { model: g.model, scenario: g.scenario, stage: g.stage || '', turn: String(t.turn) } },
          h('td', null, modelName(g.model)),
          h('td', null, g.scenario),
          stage ? h('td', null, g.stage || NA) : null,
          cell('turn', t.turn, count(t.turn)),
          cell('requests', t.requests, count(t.requests)),
          cell('ok', t.ok, count(t.ok)),
          cell('ttft_ms.p50', ttft.p50, ms(ttft.p50)),
          cell('ttft_ms.mean', ttft.mean, ms(ttft.mean)),
          cell('input_tokens', t.input_tokens, num(t.input_tokens)),
          cell('cached_tokens', t.cached_tokens, num(t.cached_tokens)),
          cell('cached_share', t.cached_share, pct(t.cached_share)),
        ),
      );
    }
  }
  return tableWrap(h('table', { id: 'turns-table', class: 'data' }, h('thead', null, head), h('tbody', null, rows)));
}
