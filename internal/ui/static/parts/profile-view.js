// parts/profile-view.js: a profiled run's figures and composite score
// (`flperf run --profile`, docs/metrics.md §11): per model, each figure
// with its value (or why it has none) and its value against the profile's
// reference (= 100), the score (marked partial when a figure is missing),
// the GPU temperatures before and after the sustained stage.

import { h, tableWrap } from '../dom.js';
import { NA, modelName, num } from '../format.js';

const TITLES = {
  chat_ttft_p50_ms: ['Chat TTFT p50', 'ms'],
  ttft_4k_p50_ms: ['TTFT p50 at 4k input', 'ms'],
  ttft_32k_p50_ms: ['TTFT p50 at 32k input', 'ms'],
  decode_tps_p50: ['Decode rate p50', 'tok/s'],
  concurrency_gain: ['4 streams ÷ 1 stream', '×'],
  sustained_ratio: ['Sustained ÷ start', '×'],
  decode_tokens_per_joule: ['Decode tokens per joule', 'tok/J'],
};

const temp = (v) => (v == null ? NA : `${num(v, 0)} °C`);

// profileView draws p (runner.Config.profile).
export function profileView(p) {
  const keys = Object.keys(TITLES);
  const head = h('tr', null, h('th', null, 'Figure'), p.models.map((m) => h('th', { colspan: 2 }, modelName(m.model))));
  const rows = keys.map((k) => h('tr', null, h('th', { scope: 'row' }, `${TITLES[k][0]} (${TITLES[k][1]})`),
    p.models.map((m) => {
      const v = (m.values || []).find((x) => x.key === k) || {};
      return [
        h('td', { class: 'num', dataset: { figure: k, value: v.value == null ? '' : String(v.value) }, title: v.note || null }, v.value == null ? NA : num(v.value)),
        h('td', { class: 'num note' }, v.normalised == null ? (v.value == null ? v.note || '' : 'not scored') : `${num(v.normalised, 1)} vs 100`,
          v.value != null && v.note ? h('div', { class: 'warn' }, `! ${v.note}`) : null),
      ];
    })));
  const score = h('tr', null, h('th', { scope: 'row' }, 'Composite score'), p.models.map((m) => h('td', { colspan: 2, class: 'num', dataset: { score: m.score == null ? '' : String(m.score) } },
    h('strong', null, m.score == null ? NA : num(m.score, 1)), m.score != null && !m.complete ? ` (partial: ${(m.missing || []).join(', ')} missing)` : '')));
  const temps = h('tr', null, h('th', { scope: 'row' }, 'GPU temperature, start → after sustained'), p.models.map((m) => h('td', { colspan: 2, class: 'num' }, `${temp(m.temp_start_c)} → ${temp(m.temp_end_c)}`)));
  return h('div', { id: 'profile' },
    h('p', { class: 'note' }, `Profile ${p.id}: scored against ${p.reference.name} (= 100), ${p.reference.about}. Power: ${p.power}. Sustained stage: ${num(p.sustain_s, 0)} s.`),
    tableWrap(h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, score, rows, temps))));
}
