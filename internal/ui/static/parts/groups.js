// parts/groups.js: reading a run's summaries (stats groups) for tables and
// charts.

import { isNum, modelName } from '../format.js';

// stageLabel names a group's stage ("" for a single-stage run).
function stageLabel(g) {
  return g.stage ? ` [${g.stage}]` : '';
}

// modelLabel names a per-model row (model, by modelName, and stage in a
// sweep).
export function modelLabel(g) {
  return modelName(g.model) + stageLabel(g);
}

// scenarioKeys returns the distinct scenario (× stage) labels of groups,
// in first-seen order.
export function scenarioKeys(groups) {
  const seen = new Set();
  const out = [];
  for (const g of groups) {
    const k = g.scenario + stageLabel(g);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(k);
    }
  }
  return out;
}

// modelNames returns the distinct models of groups in first-seen order.
export function modelNames(groups) {
  return [...new Set(groups.map((g) => g.model))];
}

// byKey indexes groups by model and scenario label.
export function byKey(groups) {
  const m = new Map();
  for (const g of groups) m.set(`${g.model}\u0000${g.scenario}${stageLabel(g)}`, g);
  return (model, scenarioKey) => m.get(`${model}\u0000${scenarioKey}`);
}

// stat reads dist[field] of group g (null when absent).
export function stat(g, dist, field) {
  const d = g && g[dist];
  const v = d ? d[field] : null;
  return isNum(v) ? v : null;
}

// ci reads the median CI of dist of group g (null when absent).
export function ci(g, dist) {
  const d = g && g[dist];
  return d && Array.isArray(d.median_ci) ? d.median_ci : null;
}

// smallN says whether percentile field of a dist with n samples needs more
// samples than there are (metrics.md §5: p95 with n < 20, p99 with n < 100).
export function smallN(field, n) {
  return (field === 'p95' && n < 20) || (field === 'p99' && n < 100);
}
