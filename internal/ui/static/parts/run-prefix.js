// parts/run-prefix.js: a --prefix-cache warm run's cold and warm stages
// side by side per model × scenario (docs/metrics.md §12): TTFT p50 with
// the shared prefix prefilled and served from the engine's cache, the
// saving, and each stage's cached-token share. Figure cells carry
// data-metric and data-value (the API's number) for tests.

import { h, tableWrap } from '../dom.js';
import { NA, modelName, ms, pct } from '../format.js';

const COLD = 'prefix cold';
const WARM = 'prefix warm';

// hasPrefix reports whether the run compared a cold and a warm prefix.
export function hasPrefix(run) {
  return !!(run.config && run.config.prefix_cache === 'warm' && (run.groups || []).some((g) => g.stage === COLD || g.stage === WARM));
}

function cell(metric, v, text) {
  return h('td', { class: 'num', dataset: { metric, value: v == null ? '' : String(v) } }, h('span', { class: 'v' }, text));
}

// prefixTable pairs each model × scenario's cold and warm groups.
export function prefixTable(run) {
  const pairs = new Map();
  for (const g of run.groups || []) {
    if (g.stage !== COLD && g.stage !== WARM) continue;
    const key = `${g.model}\u0000${g.scenario}`;
    if (!pairs.has(key)) pairs.set(key, { model: g.model, scenario: g.scenario });
    pairs.get(key)[g.stage === COLD ? 'cold' : 'warm'] = g;
  }
  const p50 = (g) => (g && g.ttft_ms && g.ttft_ms.n > 0 ? g.ttft_ms.p50 : null);
  const rows = [...pairs.values()].map((p) => {
    const c = p50(p.cold);
    const w = p50(p.warm);
    const saved = c != null && w != null && c > 0 ? (c - w) / c : null;
    const coldShare = p.cold ? p.cold.cached_share : null;
    const warmShare = p.warm ? p.warm.cached_share : null;
    return h(
      'tr',
      { dataset: { model: p.model, scenario: p.scenario } },
      h('td', null, modelName(p.model)),
      h('td', null, p.scenario),
      cell('cold_ttft_p50', c, ms(c)),
      cell('warm_ttft_p50', w, ms(w)),
      cell('saved', saved, saved == null ? NA : pct(saved)),
      cell('cold_cached_share', coldShare, pct(coldShare)),
      cell('warm_cached_share', warmShare, pct(warmShare)),
    );
  });
  const head = h(
    'tr',
    null,
    h('th', null, 'Model'),
    h('th', null, 'Scenario'),
    h('th', { class: 'num' }, 'Cold TTFT p50'),
    h('th', { class: 'num' }, 'Warm TTFT p50'),
    h('th', { class: 'num', title: '(cold − warm) ÷ cold TTFT p50' }, 'Saved'),
    h('th', { class: 'num', title: 'Σ cached ÷ Σ input tokens, as the engine reported them' }, 'Cold cached'),
    h('th', { class: 'num', title: 'Σ cached ÷ Σ input tokens, as the engine reported them' }, 'Warm cached'),
  );
  return tableWrap(h('table', { id: 'prefix-table', class: 'data' }, h('thead', null, head), h('tbody', null, rows)));
}
