// parts/runs-table.js: the run history table (Dashboard, History). A run is
// named by its date, models and suite; its id is secondary text.

import { h, tableWrap } from '../dom.js';
import { NA, count, dateTime, engineName, modelName, ms, pct, tps } from '../format.js';
import { legacyBadge, simBadge, statusBadge } from './badges.js';

// runsTable renders RunInfo rows. opts.selected (a Set of ids) and
// opts.onToggle(id, checked) add a selection column.
export function runsTable(runs, opts = {}) {
  const sel = !!opts.onToggle;
  const head = h(
    'tr',
    null,
    sel ? h('th', null, h('span', { class: 'sr' }, 'Select')) : null,
    ['Run', 'Models', 'Suite', 'Engine', 'Status', 'Requests', 'Error rate', 'TTFT p50', 'Decode p50', 'Output'].map((t) => h('th', null, t)),
  );
  const rows = runs.map((r) =>
    h(
      'tr',
      { dataset: { run: r.id } },
      sel
        ? h(
            'td',
            null,
            h('input', {
              type: 'checkbox',
              'aria-label': `select run of ${dateTime(r.started)}`,
              checked: opts.selected && opts.selected.has(r.id),
              onchange: (ev) => opts.onToggle(r.id, ev.target.checked),
            }),
          )
        : null,
      h('td', null, h('a', { href: `/runs/${encodeURIComponent(r.id)}` }, dateTime(r.started)), h('div', { class: 'id' }, r.id)),
      h('td', { title: (r.models || []).join(', ') || null }, (r.models || []).map(modelName).join(', ') || NA),
      h('td', null, r.suite || NA),
      h('td', null, engineName(r.engine), ' ', simBadge(r.engine && r.engine.simulated), ' ', legacyBadge(r.legacy)),
      h('td', null, statusBadge(r.status)),
      h('td', { class: 'num' }, r.requests == null ? count(r.records) : count(r.requests)),
      h('td', { class: 'num' }, pct(r.error_rate)),
      h('td', { class: 'num' }, ms(r.ttft_p50_ms)),
      h('td', { class: 'num' }, tps(r.decode_p50_tps)),
      h('td', { class: 'num' }, tps(r.output_tokens_per_s)),
    ),
  );
  return tableWrap(h('table', { class: 'data runs' }, h('thead', null, head), h('tbody', null, rows)));
}
