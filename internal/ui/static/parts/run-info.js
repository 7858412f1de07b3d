// parts/run-info.js: a run's configuration, engine, hardware and resource
// figures (Results page). Hardware and resources may be absent (older runs):
// then "–".

import { h, note, tableWrap } from '../dom.js';
import { NA, bytes, dateTime, duration, engineName, loadMode, mib, ms, shellQuote, yesNo } from '../format.js';
import { simBadge } from './badges.js';
import { generic, kv } from './kv.js';

function config(run) {
  const c = run.config || {};
  const s = run.suite || {};
  return kv([
    ['Load', loadMode(c)],
    ['Requests per model × scenario', c.requests ? String(c.requests) : 'unbounded (duration-bound)'],
    ['Duration per model × scenario', c.duration && c.duration !== '0s' ? c.duration : NA],
    ['Warm-up requests per model', String(c.warmup ?? NA)],
    ['Timeout per request', c.timeout || NA],
    ['max_tokens', c.max_tokens ? String(c.max_tokens) : "each scenario's own"],
    ['Temperature', c.temperature == null ? "each scenario's own" : String(c.temperature)],
    ['Streaming', yesNo(c.stream)],
    ['Cache busting', yesNo(c.cache_bust)],
    ['SLO', c.slo || NA],
    ['Seed', c.seed == null ? NA : String(c.seed)],
    ['Suite', [s.name, s.version ? `v${s.version}` : '', s.source ? `(${s.source})` : ''].filter(Boolean).join(' ') || NA],
    ['Scenarios', (c.scenarios || s.scenarios || []).join(', ') || NA],
    ['Started', dateTime(run.started)],
    ['Ended', dateTime(run.ended)],
    ['Duration', run.started && run.ended && new Date(run.ended) > new Date(run.started) ? duration(new Date(run.ended) - new Date(run.started)) : NA],
    ['Records', String(run.records ?? NA)],
    ['Tool', run.tool ? `${run.tool.name} ${run.tool.version} (${run.tool.go}, ${run.tool.os}/${run.tool.arch})` : NA],
    ['Repeat with', c.command && c.command.length ? h('code', { class: 'command' }, c.command.map(shellQuote).join(' ')) : NA],
  ]);
}

function engine(run) {
  const e = run.engine || {};
  const parts = [
    kv([
      ['Engine', h('span', null, engineName(e), ' ', simBadge(e.simulated))],
      ['Kind', e.kind],
      ['Version', e.version],
      ['Endpoint', e.endpoint],
      ['API measured', e.api || 'openai'],
      ['Found by', e.detected_by],
    ]),
  ];
  const models = e.models || [];
  if (models.length) {
    const head = h('tr', null, ['Model', 'Alias', 'Device', 'Execution provider', 'Quantization', 'Parameters', 'Size', 'Cold load', 'Cold TTFT'].map((t) => h('th', null, t)));
    const rows = models.map((m) =>
      h(
        'tr',
        null,
        h('td', null, m.id),
        h('td', null, m.alias || NA),
        h('td', null, m.device || NA),
        h('td', null, m.execution_provider || NA),
        h('td', null, m.quantization || NA),
        h('td', null, m.parameters || NA),
        h('td', { class: 'num' }, m.size_bytes ? bytes(m.size_bytes) : NA),
        h('td', { class: 'num' }, m.cold ? ms(m.cold.load_ms) : NA),
        h('td', { class: 'num' }, m.cold ? ms(m.cold.ttft_ms) : NA),
      ),
    );
    parts.push(tableWrap(h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, rows))));
  }
  return parts;
}

function hardware(hw) {
  if (!hw) return [kv([['Hardware', NA]]), note('Hardware was not recorded for this run.')];
  const cpu = hw.cpu || {};
  const os = hw.os || {};
  const cores = [cpu.physical_cores ? `${cpu.physical_cores} cores` : '', cpu.logical_cores ? `${cpu.logical_cores} threads` : ''].filter(Boolean).join(' / ');
  const gpus = (hw.gpus || []).map((g) => [g.name, g.memory_total_mib != null ? mib(g.memory_total_mib) : '', g.driver ? `driver ${g.driver}` : ''].filter(Boolean).join(' · '));
  return [
    kv([
      ['CPU', [cpu.vendor, cpu.model].filter(Boolean).join(' ') || NA],
      ['Cores', cores || NA],
      ['Architecture', hw.arch],
      ['SoC', hw.soc],
      ['Memory', bytes(hw.memory_total_bytes)],
      ['GPUs', gpus.length ? h('ul', { class: 'plain' }, gpus.map((g) => h('li', null, g))) : NA],
      ['NPUs', hw.npus && hw.npus.length ? hw.npus.join(', ') : NA],
      ['OS', [os.name, os.version, os.kernel ? `(kernel ${os.kernel})` : ''].filter(Boolean).join(' ') || NA],
      ['Power source', hw.power ? hw.power.source : NA],
    ]),
  ];
}

// runInfo renders configuration, engine, hardware and resources blocks.
export function runInfo(run) {
  return h(
    'div',
    { class: 'info-grid' },
    h('div', { class: 'info' }, h('h3', null, 'Configuration'), config(run)),
    h('div', { class: 'info' }, h('h3', null, 'Engine'), engine(run)),
    h('div', { class: 'info', id: 'hardware' }, h('h3', null, 'Hardware'), hardware(run.hardware)),
    h('div', { class: 'info', id: 'resources' }, h('h3', null, 'Resources during the run'), run.resources ? generic(run.resources) : kv([['Resources', NA]])),
  );
}
