// parts/best.js: "best model for…" cards. Each card names the metric it
// ranks by and shows that metric, with the run's scenarios and load model:
// a figure is only comparable within one configuration. A model with no
// successful request is never best; models with more than MAX_ERR of their
// requests failed are not ranked for speed (a model that times out must
// never look fast).

import { h } from '../dom.js';
import { NA, configLine, isNum, ms, num, pct, tps } from '../format.js';

const MAX_ERR = 0.1;

const CLAIMS = [
  { key: 'ttft', title: 'Fastest first token', metric: 'TTFT p50', low: true, fmt: ms, dist: 'ttft_ms', stat: 'p50' },
  { key: 'decode', title: 'Fastest generation', metric: 'decode rate p50', low: false, fmt: tps, dist: 'decode_tps', stat: 'p50' },
  { key: 'throughput', title: 'Highest throughput', metric: 'output tokens per second', low: false, fmt: tps, get: (g) => g.output_tokens_per_s },
  { key: 'e2e', title: 'Lowest tail latency', metric: 'end-to-end latency p95', low: true, fmt: ms, dist: 'e2e_ms', stat: 'p95' },
  { key: 'reliable', title: 'Most reliable', metric: 'error rate', low: true, fmt: pct, get: (g) => g.error_rate, reliability: true },
];

function valueOf(c, g) {
  if (c.get) return c.get(g);
  const d = g[c.dist];
  return d ? d[c.stat] : null;
}

// rank returns the ranking of models (run.models groups) for claim c:
// [{g, v}] best first, and whether high-error models were left out.
function rank(c, models) {
  let pool = models.filter((g) => g.requests > 0 && (c.reliability || g.ok > 0) && isNum(valueOf(c, g)));
  let excluded = [];
  if (!c.reliability) {
    const fine = pool.filter((g) => !(g.error_rate > MAX_ERR));
    excluded = pool.filter((g) => g.error_rate > MAX_ERR);
    if (fine.length) pool = fine;
    else excluded = [];
  }
  const ranked = pool.map((g) => ({ g, v: valueOf(c, g) })).sort((a, b) => (c.low ? a.v - b.v : b.v - a.v));
  return { ranked, excluded };
}

// bestCards renders the cards for run (a Result). link: optional node (e.g.
// a link to the run) appended to each card's context line.
export function bestCards(run, link) {
  const models = (run.models || []).filter((g) => g.model);
  const scenarios = (run.suite && run.suite.scenarios) || [...new Set((run.groups || []).map((g) => g.scenario))];
  const context = `${scenarios.length === 1 ? `scenario “${scenarios[0]}”` : `${scenarios.length} scenarios pooled (${scenarios.join(', ')})`} · ${configLine(run.config)}`;
  const cards = CLAIMS.map((c) => {
    const { ranked, excluded } = rank(c, models);
    const card = h('div', { class: 'card best', dataset: { claim: c.key } }, h('h3', null, c.title));
    if (!ranked.length) {
      card.append(h('p', { class: 'big' }, NA), h('p', { class: 'note' }, `no model has a ${c.metric} in this run`));
      return card;
    }
    const top = ranked[0];
    const tie = ranked.length > 1 && ranked[1].v === top.v;
    card.append(
      h('p', { class: 'big model-name' }, top.g.model, tie ? h('span', { class: 'badge' }, 'tie') : null),
      h('p', { class: 'metric' }, h('span', { class: 'metric-name' }, `${c.metric}: `), h('strong', { dataset: { value: top.v } }, c.fmt(top.v))),
    );
    const d = c.dist ? top.g[c.dist] : null;
    const detail = [];
    if (d && c.stat === 'p50' && d.median_ci) detail.push(`95 % CI ${num(d.median_ci[0])}–${num(d.median_ci[1])}`);
    detail.push(`n = ${d ? d.n : top.g.requests}`);
    if (!c.reliability && top.g.error_rate > 0) detail.push(`error rate ${pct(top.g.error_rate)}`);
    card.append(h('p', { class: 'note' }, detail.join(' · ')));
    if (ranked.length > 1) card.append(h('p', { class: 'note' }, `next: ${ranked[1].g.model} ${c.fmt(ranked[1].v)}`));
    else if (models.length === 1) card.append(h('p', { class: 'note' }, 'only model in this run'));
    if (excluded.length) card.append(h('p', { class: 'note warn' }, `not ranked (over ${pct(MAX_ERR)} failed): ${excluded.map((g) => g.model).join(', ')}`));
    card.append(h('p', { class: 'context' }, context, link ? [' · ', link.cloneNode(true)] : null));
    return card;
  });
  return h('div', { class: 'cards best-cards' }, cards);
}
