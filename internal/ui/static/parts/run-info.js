// parts/run-info.js: a run's configuration, engine and hardware (Results
// page; the hardware block also on Settings). Hardware may be absent
// (older runs): then "–". The resource figures are in run-resources.js.

import { h, note, tableWrap } from '../dom.js';
import { NA, bytes, dateTime, duration, engineName, isNum, loadMode, ms, num, shellQuote, withUnit, yesNo } from '../format.js';
import { simBadge } from './badges.js';
import { kv } from './kv.js';

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
      ['Connections', e.connection_reuse || 'kept alive and reused'],
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

// gib formats a byte count in GiB with 1 decimal (RAM sizes).
function gib(b) {
  return isNum(b) ? withUnit(b / 2 ** 30, 'GiB', 1) : NA;
}

// gpuLine describes one GPU: name, memory, driver, source.
function gpuLine(g) {
  const name = g.name || `${g.vendor || 'unknown'} GPU`;
  const mem = isNum(g.memory_total_mib) ? withUnit(g.memory_total_mib / 1024, 'GiB', 1) : `memory ${NA}`;
  const drv = g.driver ? `driver ${g.driver}` : `driver ${NA}`;
  return h('li', { dataset: { gpu: g.index } }, h('strong', null, name), ` · ${mem} · ${drv}`, g.source ? h('span', { class: 'note' }, ` (${g.source})`) : null);
}

// hardwareInfo describes a telemetry.Hardware (a run's machine, or this
// one on the Settings page): every field, "–" for an unknown one.
export function hardwareInfo(hw) {
  if (!hw) return [kv([['Hardware', NA]]), note('Hardware was not recorded for this run.')];
  const cpu = hw.cpu || {};
  const os = hw.os || {};
  const pw = hw.power || {};
  const cores = [isNum(cpu.physical_cores) ? `${cpu.physical_cores} cores` : '', isNum(cpu.logical_cores) ? `${cpu.logical_cores} threads` : ''].filter(Boolean).join(' / ');
  const gpus = hw.gpus || [];
  const osText = [os.platform, os.version].filter(Boolean).join(' ') || os.name;
  let power = pw.source && pw.source !== 'unknown' ? (pw.source === 'ac' ? 'mains (AC)' : pw.source) : NA;
  if (isNum(pw.battery_percent)) power += ` · battery ${num(pw.battery_percent, 0)}\u00a0%`;
  return [
    kv(
      [
        ['CPU', cpu.model || NA],
        ['CPU vendor', cpu.vendor],
        ['Cores / threads', cores || NA],
        ['Clock', isNum(cpu.mhz) ? withUnit(cpu.mhz, 'MHz', 0) : NA],
        ['Architecture', hw.arch],
        ['SoC', hw.soc],
        ['Board', hw.board],
        ['RAM', gib(hw.memory_total_bytes)],
        ['GPUs', gpus.length ? h('ul', { class: 'plain' }, gpus.map(gpuLine)) : 'none found'],
        ['NPUs', hw.npus && hw.npus.length ? hw.npus.join(', ') : 'none found'],
        ['OS', [osText, os.name && osText !== os.name ? `(${os.name})` : ''].filter(Boolean).join(' ') || NA],
        ['Kernel', os.kernel],
        ['Power source', power],
      ],
      'hardware',
    ),
    hw.notes && hw.notes.length ? h('ul', { class: 'note' }, hw.notes.map((n) => h('li', null, n))) : null,
  ];
}

// runInfo renders the configuration, engine and hardware blocks.
export function runInfo(run) {
  return h(
    'div',
    { class: 'info-grid' },
    h('div', { class: 'info' }, h('h3', null, 'Configuration'), config(run)),
    h('div', { class: 'info' }, h('h3', null, 'Engine'), engine(run)),
    h('div', { class: 'info', id: 'hardware' }, h('h3', null, 'Hardware'), hardwareInfo(run.hardware)),
  );
}
