// pages/trend.js: one model on one machine over time in one configuration
// (GET /board/trend): each run's headline figures, what changed since the
// run before (engine version, quantisation), and `flperf compare`'s marks
// between consecutive runs: the change of each metric's median and whether
// it is significant (Mann-Whitney U, p ≤ alpha) and worse.

import { get, query } from '../api.js';
import { errorBox, h, note, section, tableWrap } from '../dom.js';
import { NA, dateTime, metricName, modelName, num } from '../format.js';
import { FIGURES, configLabel } from './board.js';

export async function render(ctx) {
  const { root, signal, query: q } = ctx;
  const params = {};
  for (const k of ['model', 'machine', 'suite', 'scenarios', 'load', 'profile']) if (q.get(k) != null) params[k] = q.get(k);
  root.append(h('h1', null, 'Trend'));
  let t;
  try {
    t = await get(`/board/trend${query(params)}`, { signal });
  } catch (e) {
    root.append(errorBox(e, 'The trend could not be read'));
    return;
  }
  root.append(h('p', null, h('strong', null, modelName(t.model)), ' on ', h('span', { id: 'trend-machine' }, t.machine.label), h('br'), h('small', { class: 'note' }, configLabel(t.config))),
    h('p', null, h('a', { href: `/board${query({ suite: t.config.suite, scenarios: t.config.scenarios, load: t.config.load, profile: t.config.profile })}` }, '← back to the leaderboard')));
  if (t.points.length < 2) root.append(note('One run so far: the marks appear from the second run on.'));
  const rows = t.points.map((p, i) => h('tr', { dataset: { run: p.run } },
    h('td', null, h('a', { href: `/runs/${encodeURIComponent(p.run)}` }, dateTime(p.started, false))),
    h('td', null, [p.engine, p.engine_version, p.quantization].filter(Boolean).join(' '), p.changed.length ? h('div', { class: 'note' }, p.changed.join('; ')) : null),
    FIGURES.map(([key, , fmt]) => h('td', { class: 'num', dataset: { metric: key } }, fmt(p[key]))),
    h('td', { class: 'num' }, p.score == null ? NA : num(p.score, 1)),
    h('td', { class: 'trend-marks' }, i === 0 ? NA : marks(p.marks, t.alpha))));
  root.append(section('Runs, oldest first', tableWrap(h('table', { class: 'data', id: 'trend-table' },
    h('thead', null, h('tr', null, h('th', null, 'Run'), h('th', null, 'Engine'), FIGURES.map(([, label]) => h('th', null, label)), h('th', null, 'Score'), h('th', null, 'vs the run before'))),
    h('tbody', null, rows)))));
}

// marks lists each metric's change, marked when significant.
function marks(ms, alpha) {
  if (!ms || !ms.length) return note('no comparable samples');
  return h('ul', { class: 'marks' }, ms.map((m) => {
    const d = m.delta == null ? NA : `${m.delta >= 0 ? '+' : ''}${num(m.delta * 100, 1)} %`;
    const verdict = m.significant ? (m.worse ? 'significantly worse' : 'significantly better') : 'no significant change';
    return h('li', { class: ['mark', m.significant && (m.worse ? 'worse' : 'better')], dataset: { metric: m.metric, significant: String(m.significant) } },
      `${metricName(m.metric)} ${d} — ${verdict}`, m.p == null ? '' : ` (p ${m.p < 0.001 ? '< 0.001' : `= ${num(m.p, 3)}`}, α = ${alpha})`);
  }));
}
