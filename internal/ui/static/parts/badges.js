// parts/badges.js: small status marks used on every page.

import { h } from '../dom.js';

// statusBadge marks a run's status (running, completed, interrupted, canceled, failed).
export function statusBadge(status) {
  const s = status || 'unknown';
  return h('span', { class: ['badge', `st-${s}`], dataset: { status: s } }, s);
}

// simBadge marks figures from the built-in simulated engine (null otherwise).
export function simBadge(simulated) {
  if (!simulated) return null;
  return h('span', { class: 'badge sim', title: "flperf's built-in simulator: not a real model" }, 'SIMULATED');
}

// healthBadge marks an engine's health.
export function healthBadge(e) {
  if (e.healthy) return h('span', { class: 'badge ok' }, 'healthy');
  return h('span', { class: 'badge bad', title: e.error || '' }, 'unreachable');
}

// smallMark is a footnote mark (e.g. a p99 from too few samples).
export function smallMark(text, title) {
  return h('sup', { class: 'mark', title }, text);
}

// legacyBadge marks a run imported from the original FLPerformance, whose
// figures are its own and never compared with flperf's (null otherwise).
export function legacyBadge(legacy) {
  if (!legacy) return null;
  return h('span', { class: 'badge legacy', title: 'imported from the original FLPerformance: its own figures (chunks counted as tokens, nearest-rank percentiles, sequential only, retried errors hidden), not comparable with flperf’s' }, 'LEGACY');
}
