// parts/kv.js: label/value lists for configuration, engine and hardware.

import { h } from '../dom.js';
import { NA, bytes, isNum, num, withUnit } from '../format.js';

// kv renders [label, value] pairs as a definition list; a value may be a
// node, text, or null/undefined/'' (shown as "–"); a null pair is skipped.
export function kv(pairs, cls) {
  const dl = h('dl', { class: ['kv', cls] });
  for (const p of pairs) {
    if (!p) continue;
    const [label, value] = p;
    const v = value == null || value === '' ? NA : value;
    dl.append(h('dt', null, label), h('dd', null, v));
  }
  return dl;
}

// unitOf guesses the unit of a telemetry key from its suffix.
function unitOf(key) {
  const units = [
    ['_pct', '%'],
    ['_bytes', null],
    ['_mib', 'MiB'],
    ['_w', 'W'],
    ['_j', 'J'],
    ['_c', '°C'],
    ['_ms', 'ms'],
    ['_s', 's'],
  ];
  for (const [suffix, unit] of units) if (key.endsWith(suffix)) return { unit, bytes: suffix === '_bytes' };
  return { unit: '' };
}

// value formats one telemetry value of key.
function value(key, v) {
  if (v == null) return NA;
  if (isNum(v)) {
    const u = unitOf(key);
    if (u.bytes) return bytes(v);
    return u.unit ? withUnit(v, u.unit) : num(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object' || x === null)) return v.map((x) => value(key, x)).join(', ');
    return h('div', null, v.map((x, i) => h('div', { class: 'sub' }, h('strong', null, `#${i} `), generic(x, key))));
  }
  if (typeof v === 'object') {
    if ('mean' in v || 'peak' in v) return `mean ${value(key, v.mean)} · peak ${value(key, v.peak)}`;
    return generic(v, key);
  }
  return String(v);
}

// generic renders an object of unknown shape (telemetry summaries, which
// may grow fields): keys as labels, units from key suffixes.
export function generic(obj, parentKey = '') {
  if (obj == null || typeof obj !== 'object') return value(parentKey, obj);
  return kv(Object.entries(obj).map(([k, v]) => [k.replace(/_/g, ' '), value(k, v)]), 'nested');
}
