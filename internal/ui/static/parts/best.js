// parts/best.js: "best model for…" cards. The ranking comes with the run
// (GET /runs/{id} → best, computed in Go by the same rule as the terminal
// report: a model with more than max_error_rate of its requests failed is
// never ranked at speed); this module only draws it. Each card names the
// metric it ranks by and shows that metric, with the run's scenarios and
// load model: a figure is only comparable within one configuration.

import { append, h } from '../dom.js';
import { NA, configLine, modelName, num, ms, pct, tps } from '../format.js';

const FORMAT = { ms, 'tok/s': tps, fraction: pct };

// label names an entry: its model, and its stage when the run had stages.
const label = (e) => (e.stage ? `${modelName(e.model)} (${e.stage})` : modelName(e.model));

// card draws one claim (a BestClaim).
function card(c, models, context, link) {
  const fmt = FORMAT[c.unit] || num;
  const el = h('div', { class: 'card best', dataset: { claim: c.key } }, h('h3', null, c.title));
  const ranked = c.ranked || [];
  const excluded = c.excluded || [];
  const excludedNote = excluded.length
    ? h('p', { class: 'note warn excluded' }, `not ranked (over ${pct(c.max_error_rate)} failed): ${excluded.map((e) => `${label(e)} ${pct(e.error_rate)}`).join(', ')}`)
    : null;
  const contextLine = h('p', { class: 'context' }, context, link ? [' · ', link.cloneNode(true)] : null);
  if (!ranked.length) {
    append(el, h('p', { class: 'big' }, NA), h('p', { class: 'note reason' }, c.reason || `no model has a ${c.metric} in this run`), excludedNote, contextLine);
    return el;
  }
  const top = ranked[0];
  append(
    el,
    h('p', { class: 'big model-name', title: top.model }, label(top), c.tie ? h('span', { class: 'badge' }, 'tie') : null),
    h('p', { class: 'metric' }, h('span', { class: 'metric-name' }, `${c.metric}: `), h('strong', { dataset: { value: top.value } }, fmt(top.value))),
  );
  const detail = [];
  if (top.median_ci) detail.push(`95 % CI ${num(top.median_ci[0])}–${num(top.median_ci[1])}`);
  detail.push(`n = ${top.n}`);
  if (c.key !== 'reliable' && top.error_rate > 0) detail.push(`error rate ${pct(top.error_rate)}`);
  append(el, h('p', { class: 'note' }, detail.join(' · ')));
  if (ranked.length > 1) append(el, h('p', { class: 'note' }, `next: ${label(ranked[1])} ${fmt(ranked[1].value)}`));
  else if (models === 1) append(el, h('p', { class: 'note' }, 'only model in this run'));
  append(el, excludedNote, contextLine);
  return el;
}

// bestCards renders the cards for run (a Result) from best (the BestClaims
// served with it). link: optional node (e.g. a link to the run) appended to
// each card's context line.
export function bestCards(run, best, link) {
  const models = (run.models || []).filter((g) => g.model).length;
  const scenarios = (run.suite && run.suite.scenarios) || [...new Set((run.groups || []).map((g) => g.scenario))];
  const context = `${scenarios.length === 1 ? `scenario “${scenarios[0]}”` : `${scenarios.length} scenarios pooled (${scenarios.join(', ')})`} · ${configLine(run.config)}`;
  return h(
    'div',
    { class: 'cards best-cards' },
    (best || []).map((c) => card(c, models, context, link)),
  );
}
