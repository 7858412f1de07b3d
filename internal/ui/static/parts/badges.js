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
