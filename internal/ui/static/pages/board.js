// pages/board.js: the cross-hardware leaderboard (GET /board). One
// like-for-like configuration (suite, scenarios, load, profile) at a time:
// a model × machine matrix of the headline figures, machines grouped by
// hardware class, each cell linking to its run and to the model's trend on
// that machine, the best model of each machine highlighted. Every choice is
// in the URL (/board?suite=…), so a board is a deep link.

import { get, query } from '../api.js';
import { errorBox, field, h, note, section, tableWrap } from '../dom.js';
import { NA, dateTime, modelName, ms, num, tps } from '../format.js';

// FIGURES are the cell's figures: key, label, formatter.
export const FIGURES = [
  ['ttft_p50_ms', 'TTFT p50', ms],
  ['decode_p50_tps', 'decode p50', tps],
  ['output_tps', 'output', tps],
  ['e2e_p95_ms', 'E2E p95', ms],
  ['j_per_token', 'J/token', (x) => (x == null ? NA : `${num(x)} J/tok`)],
];

const RANKS = [
  ['', 'default (score, else output tok/s)'],
  ['score', 'composite score'],
  ['output_tps', 'output tok/s'],
  ['decode_p50_tps', 'decode rate p50'],
  ['ttft_p50_ms', 'TTFT p50'],
  ['e2e_p95_ms', 'E2E p95'],
  ['j_per_token', 'J/token'],
];

const KEYS = ['suite', 'scenarios', 'load', 'profile', 'engine', 'engine_version', 'quantization', 'since', 'until', 'rank'];

// configLabel names a configuration in one line.
export function configLabel(c) {
  const kind = c.profile ? `profile ${c.profile}` : 'custom';
  return `${c.suite} · ${c.scenarios} · ${c.load} (${kind})`;
}

// configQuery is a configuration's query parameters.
export function configQuery(c) {
  return { suite: c.suite, scenarios: c.scenarios, load: c.load, profile: c.profile || '' };
}

export async function render(ctx) {
  const { root, signal, query: q } = ctx;
  root.append(h('h1', null, 'Leaderboard'));
  const params = {};
  for (const k of KEYS) if (q.get(k)) params[k] = q.get(k);
  let data;
  try {
    data = await get(`/board${query(params)}`, { signal });
  } catch (e) {
    root.append(errorBox(e, 'The leaderboard could not be read'));
    return;
  }
  if (!data.matrix) {
    root.append(note('No completed run yet. Run a benchmark (or flperf run --profile standard) and its figures appear here, one column per machine.'));
    return;
  }
  const m = data.matrix;
  const go = (changes) => {
    const next = { ...configQuery(m.config), ...params, ...changes };
    for (const k of Object.keys(next)) if (!next[k]) delete next[k];
    ctx.navigate(`/board${query(next)}`);
  };
  root.append(controls(data, params, go));
  root.append(matrixTable(m));
}

// controls are the configuration picker and the filters.
function controls(data, params, go) {
  const m = data.matrix;
  const cfgSel = h('select', { name: 'config', id: 'board-config' },
    data.configs.map((c, i) => h('option', { value: String(i), selected: configLabel(c) === configLabel(m.config) }, `${configLabel(c)} — ${c.runs} runs, ${c.machines} machines`)));
  cfgSel.addEventListener('change', () => {
    const c = data.configs[Number(cfgSel.value)];
    go({ ...configQuery(c), engine: '', engine_version: '', quantization: '' });
  });
  const pick = (name, values, label) => {
    const sel = h('select', { name, id: `board-${name}` }, [h('option', { value: '' }, `any ${label}`), ...values.map((v) => h('option', { value: v, selected: params[name] === v }, v))]);
    sel.addEventListener('change', () => go({ [name]: sel.value }));
    return field(label[0].toUpperCase() + label.slice(1), sel);
  };
  const date = (name, label) => {
    const inp = h('input', { type: 'date', name, id: `board-${name}`, value: params[name] || '' });
    inp.addEventListener('change', () => go({ [name]: inp.value }));
    return field(label, inp);
  };
  const rank = h('select', { name: 'rank', id: 'board-rank' }, RANKS.map(([v, l]) => h('option', { value: v, selected: (params.rank || '') === v }, l)));
  rank.addEventListener('change', () => go({ rank: rank.value }));
  return h('div', { class: 'toolbar board-controls' },
    field('Configuration', cfgSel, 'Only like-for-like runs share a board: one suite, scenario set, load and profile version.'),
    pick('engine', data.filters.engines, 'engine'),
    pick('engine_version', data.filters.engine_versions, 'engine version'),
    pick('quantization', data.filters.quantizations, 'quantisation'),
    date('since', 'From'),
    date('until', 'Before'),
    field('Best by', rank));
}

// matrixTable draws the model × machine matrix.
function matrixTable(m) {
  if (!m.cells.length) return note('No run of this configuration matches the filters.');
  const byKey = new Map(m.machines.map((x) => [x.key, x]));
  const cells = new Map(m.cells.map((c) => [`${c.model}\u0000${c.machine}`, c]));
  const order = m.classes.flatMap((g) => g.machines);
  const head1 = h('tr', null, h('th', { rowspan: 2, scope: 'col' }, 'Model'),
    m.classes.map((g) => h('th', { colspan: g.machines.length, scope: 'colgroup', class: 'board-class' }, g.class)));
  const head2 = h('tr', null, order.map((k) => {
    const mc = byKey.get(k);
    return h('th', { scope: 'col', class: 'board-machine', dataset: { machine: k }, title: [mc.cpu, mc.gpu, mc.npu, mc.memory, mc.os].filter(Boolean).join('\n') }, mc.label);
  }));
  const body = m.models.map((model) => h('tr', null,
    h('th', { scope: 'row' }, modelName(model)),
    order.map((k) => cellView(m, cells.get(`${model}\u0000${k}`)))));
  const caption = h('caption', null, `${m.scored ? 'Profiled runs: composite score against the profile\'s reference (100). ' : 'Custom runs: never ranked against profiled ones. '}Each cell is the newest run of the model on the machine; ★ marks the machine's best model by ${(RANKS.find(([v]) => v === m.rank) || [m.rank, m.rank])[1]}.`);
  return section('Models × machines', tableWrap(h('table', { class: 'data board', id: 'board-matrix' }, caption, h('thead', null, head1, head2), h('tbody', null, body))));
}

// cellView is one model on one machine.
function cellView(m, c) {
  if (!c) return h('td', { class: 'board-empty' }, NA);
  const trend = { model: c.model, machine: c.machine, ...configQuery(m.config) };
  const figs = FIGURES.map(([key, label, fmt]) => h('div', { class: 'board-fig' },
    h('span', { class: 'label' }, `${label} `), h('span', { dataset: { metric: key, value: c[key] == null ? '' : String(c[key]) } }, fmt(c[key]))));
  const score = m.scored
    ? h('div', { class: 'board-score' }, 'score ', h('strong', { dataset: { metric: 'score', value: c.score == null ? '' : String(c.score) } }, c.score == null ? NA : num(c.score, 1)), c.score != null && !c.score_complete ? ' (partial)' : '')
    : null;
  return h('td', { class: ['board-cell', c.best && 'best'], dataset: { model: c.model, machine: c.machine, run: c.run } },
    c.best ? h('div', { class: 'board-best' }, '★ best') : null,
    score,
    figs,
    h('div', { class: 'board-links' },
      h('a', { href: `/runs/${encodeURIComponent(c.run)}`, class: 'board-run' }, 'run'), ' · ',
      h('a', { href: `/board/trend${query(trend)}`, class: 'board-trend' }, c.runs > 1 ? `trend (${c.runs} runs)` : 'trend')),
    h('small', { class: 'note' }, [c.engine, c.engine_version, c.quantization].filter(Boolean).join(' '), ` · ${dateTime(c.started, false)}`,
      c.power === 'battery' ? h('strong', { class: 'board-battery' }, ' · on battery') : '', c.simulated ? ' · SIMULATED' : ''));
}
