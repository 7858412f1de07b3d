// parts/kv.js: label/value lists for configuration, engine and hardware.

import { h } from '../dom.js';
import { NA } from '../format.js';

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
