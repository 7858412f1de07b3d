// parts/compare-view.js: the comparison of two runs or two models (GET
// /compare): medians with their 95 % CIs, n, relative change, Mann-Whitney
// p, and "~" where the change is not significant (benchstat's convention);
// then the energy per output token where both sides measured it; two
// capacity searches first, side by side.

import { apiURL, get, query, seg } from '../api.js';
import { errorBox, h, note, replace, section, tableWrap } from '../dom.js';
import { NA, isNum, metricName, modelName, num, runTitle, sig4, withUnit } from '../format.js';
import { legacyBadge, simBadge } from './badges.js';
import { compareCurves } from './run-curve.js';

function side(s, unit) {
  if (!s) return NA;
  const parts = [withUnit(s.median, unit)];
  if (s.ci) parts.push(` [${num(s.ci[0])}–${num(s.ci[1])}]`);
  return h('span', null, parts.join(''), h('span', { class: 'note' }, ` n=${s.n}`));
}

function change(delta, significant) {
  if (!isNum(delta)) return NA;
  const s = `${delta > 0 ? '+' : ''}${num(delta * 100, 1)}\u00a0%`;
  return significant ? s : '~';
}

function verdict(r) {
  if (!r.significant) return h('span', { class: 'verdict same', title: 'no detectable change at this significance level' }, '~');
  return r.worse ? h('span', { class: 'verdict worse' }, '✗ worse') : h('span', { class: 'verdict better' }, '✓ better');
}

// extraNote is what an energy row's note says beyond the note every row
// carries (one measurement per stage): e.g. different power sources.
function extraNote(note) {
  const i = (note || '').indexOf('; ');
  return i < 0 ? '' : note.slice(i + 2);
}

// energyTable shows the energy per output token of both sides (cmp.energy):
// one measurement per stage, so the change is shown as is, never tested.
// A pooled row is left out when its model has a single stage row.
function energyTable(cmp, modelOf) {
  const rows = cmp.energy || [];
  if (!rows.length) return null;
  const stages = new Map();
  for (const r of rows) if (!r.pooled) stages.set(r.model, (stages.get(r.model) || 0) + 1);
  const shown = rows.filter((r) => !r.pooled || stages.get(r.model) !== 1);
  const head = h('tr', null, ['Model', 'Scenario', 'Base', 'Candidate', 'Change', 'Note'].map((t) => h('th', null, t)));
  const body = shown.map((r) =>
    h(
      'tr',
      { class: r.pooled ? 'pooled' : null, dataset: { model: r.model, scenario: r.scenario } },
      h('td', { title: r.model || null }, modelOf(r)),
      h('td', null, r.pooled ? h('em', null, 'all scenarios (pooled)') : r.scenario),
      h('td', { class: 'num', dataset: { energy: 'base' } }, isNum(r.base) ? `${sig4(r.base)}\u00a0${r.unit}` : NA),
      h('td', { class: 'num', dataset: { energy: 'candidate' } }, isNum(r.candidate) ? `${sig4(r.candidate)}\u00a0${r.unit}` : NA),
      h('td', { class: 'num', dataset: { energy: 'delta' }, title: 'not tested for significance: one measurement per side' }, isNum(r.delta) ? `${r.delta > 0 ? '+' : ''}${num(r.delta * 100, 1)}\u00a0%` : NA),
      h('td', { class: 'note', title: r.note || '' }, extraNote(r.note)),
    ),
  );
  return [
    h('h3', { class: 'sub-head' }, 'Energy per output token'),
    h('p', { class: 'note' }, 'Joules per output token from the measured power (GPU board power, CPU package power): one measurement per stage on each side, so no significance test; lower is better.'),
    tableWrap(h('table', { class: 'data compare', id: 'energy-table' }, h('thead', null, head), h('tbody', null, body))),
  ];
}

// capacityTable puts two capacity searches side by side (cmp.capacity,
// docs/metrics.md §10): the level each found, its throughput, each
// objective's percentile with its 95 % CI, and the first failing level.
function capacityTable(cmp) {
  const c = cmp.capacity;
  if (!c) return null;
  const levelOf = (s) => (isNum(s.level) ? `${s.level}${s.by === 'rate' ? '\u00a0req/s' : ''}` : 'none');
  const objs = (s) =>
    (s.objectives || []).map((o) => h('div', null, `${o.objective} ${isNum(o.value_ms) ? withUnit(o.value_ms, 'ms') : NA}${o.ci_ms ? ` [${num(o.ci_ms[0])}–${num(o.ci_ms[1])}]` : ''} ≤ ${num(o.target_ms)}\u00a0ms`));
  const row = (name, s) =>
    s
      ? h(
          'tr',
          { dataset: { side: name } },
          h('th', null, name, h('div', { class: 'note', title: s.model }, `${modelName(s.model)} · ${s.slo} by ${s.by}`)),
          h('td', { class: 'num', dataset: { capacity: 'level' } }, levelOf(s)),
          h('td', { class: 'num' }, isNum(s.requests_per_s) ? sig4(s.requests_per_s) : NA),
          h('td', { class: 'num' }, isNum(s.output_tokens_per_s) ? sig4(s.output_tokens_per_s) : NA),
          h('td', null, objs(s)),
          h('td', null, isNum(s.first_failing) ? `${s.first_failing}: ${s.why}` : 'none'),
        )
      : h('tr', { dataset: { side: name } }, h('th', null, name), h('td', { colspan: 5, class: 'note' }, 'not a capacity search'));
  const head = h('tr', null, ['', 'Level', 'req/s', 'Output tok/s', 'Objectives at the level [95 % CI]', 'First failing level'].map((t) => h('th', null, t)));
  return [
    h('h3', { class: 'sub-head' }, 'Capacity'),
    h('p', { class: 'note' }, 'The highest load each search found within its objectives (each percentile’s upper 95 % confidence bound within its target).' + (isNum(c.delta) ? ` Change of the level: ${c.delta > 0 ? '+' : ''}${num(c.delta * 100, 1)}\u00a0%.` : '')),
    tableWrap(h('table', { class: 'data compare', id: 'capacity-table' }, h('thead', null, head), h('tbody', null, row('base', c.base), row('candidate', c.candidate)))),
  ];
}

// parseSide splits "ID@MODEL" into the run id and the model.
function parseSide(s) {
  const i = s.indexOf('@');
  return i < 0 ? { id: s, model: '' } : { id: s.slice(0, i), model: s.slice(i + 1) };
}

// sideOf fetches one side's run: its title, and its curve when it is a
// load sweep (limited to the side's model in a model comparison).
async function sideOf(ref, name, signal) {
  const { id, model } = parseSide(ref);
  try {
    const doc = await get(`/runs/${seg(id)}`, { signal });
    const title = h('span', null, h('a', { href: `/runs/${seg(doc.run.id)}` }, runTitle(doc.run)), model ? ` (model ${model})` : '', ' ', simBadge(doc.run.engine && doc.run.engine.simulated), ' ', legacyBadge(!!doc.run.legacy));
    return { title, curve: { name, curve: doc.curve || null, model } };
  } catch {
    return { title: h('span', null, ref), curve: { name, curve: null, model } };
  }
}

// compareView fetches and renders the comparison into box.
export async function compareView(box, { base, candidate, metrics, alpha }, signal) {
  replace(box, note('Comparing…'));
  let cmp;
  try {
    cmp = await get(`/compare${query({ base, candidate, metric: metrics && metrics.length ? metrics : undefined, alpha })}`, { signal });
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, section('Comparison', errorBox(e, 'Comparison')));
    return;
  }
  const [bs, cs] = await Promise.all([sideOf(base, 'base', signal), sideOf(candidate, 'candidate', signal)]);
  const [bt, ct] = [bs.title, cs.title];
  const curves = compareCurves([bs.curve, cs.curve]);
  const rows = cmp.rows || [];
  const bm = parseSide(base).model;
  const cm = parseSide(candidate).model;
  const modelOf = (r) => (r.model ? modelName(r.model) : bm && cm ? `${modelName(bm)} → ${modelName(cm)}` : NA);
  const head = h('tr', null, ['Model', 'Scenario', 'Metric', 'Base median [95 % CI]', 'Candidate median [95 % CI]', 'Change', 'p', 'Verdict', 'Note'].map((t) => h('th', null, t)));
  const body = rows.map((r) =>
    h(
      'tr',
      { class: [r.pooled ? 'pooled' : null, r.significant ? (r.worse ? 'worse' : 'better') : null], dataset: { metric: r.metric, model: r.model, scenario: r.scenario } },
      h('td', { title: r.model || null }, modelOf(r)),
      h('td', null, r.pooled ? h('em', null, 'all scenarios (pooled)') : r.scenario),
      h('td', { title: r.metric }, metricName(r.metric)),
      h('td', { class: 'num' }, side(r.base, r.unit)),
      h('td', { class: 'num' }, side(r.candidate, r.unit)),
      h('td', { class: 'num', title: isNum(r.delta) ? `${num(r.delta * 100, 2)} %` : '' }, change(r.delta, r.significant)),
      h('td', { class: 'num' }, isNum(r.p) ? num(r.p, 3) : NA),
      h('td', null, verdict(r)),
      h('td', { class: 'note' }, r.note || ''),
    ),
  );
  const geo = (cmp.geomean || []).map((g) =>
    h('tr', null, h('td', { title: g.metric }, metricName(g.metric)), h('td', { class: 'num' }, withUnit(g.base, g.unit)), h('td', { class: 'num' }, withUnit(g.candidate, g.unit)), h('td', { class: 'num' }, isNum(g.delta) ? `${g.delta > 0 ? '+' : ''}${num(g.delta * 100, 1)}\u00a0%` : NA), h('td', null, g.worse ? 'worse' : 'better or same')),
  );
  replace(
    box,
    section(
      'Comparison',
      // First and loud: a legacy side's figures are never compared silently.
      (cmp.legacy || []).length ? h('div', { class: 'notice error legacy-compare', role: 'alert' }, cmp.legacy.map((w) => h('p', null, w))) : null,
      h('p', null, 'Base: ', bt, h('br'), 'Candidate: ', ct),
      // Two whole runs (not RUN@MODEL) also make one self-contained HTML file.
      bm || cm
        ? null
        : h('p', null, h('a', { class: 'button', id: 'download-compare-report', href: apiURL(`/compare/report.html${query({ base, candidate, metric: metrics && metrics.length ? metrics : undefined, alpha })}`), download: `flperf-report-${base}-vs-${candidate}.html` }, 'Download report')),
      h('p', { class: 'note' }, `Mann-Whitney U test, α = ${cmp.alpha}. “~”: no detectable change (p > α). Positive change: the candidate's figure is higher.`),
      (cmp.warnings || []).length ? h('ul', { class: 'notice warn warnings' }, cmp.warnings.map((w) => h('li', null, w))) : null,
      capacityTable(cmp),
      curves ? curves.el : null,
      rows.length ? tableWrap(h('table', { class: 'data compare', id: 'compare-table' }, h('thead', null, head), h('tbody', null, body))) : note('Nothing in common to compare.'),
      geo.length
        ? [h('h3', { class: 'sub-head' }, 'Geometric mean over scenarios'), tableWrap(h('table', { class: 'data' }, h('thead', null, h('tr', null, ['Metric', 'Base', 'Candidate', 'Change', ''].map((t) => h('th', null, t)))), h('tbody', null, geo)))]
        : null,
      energyTable(cmp, modelOf),
    ),
  );
  if (curves) await curves.ready();
}
