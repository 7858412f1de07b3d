// parts/open-loop.js: what the open loop did beyond a run's records
// (run.suite.open_loop, docs/metrics.md §7): arrivals dropped because
// --max-in-flight requests were in flight (--on-full drop), and stages the
// over-saturation detector stopped. The detail table shows both per row.

import { h } from '../dom.js';
import { NA, count } from '../format.js';

// openLoopOf returns the run's open-loop stages and whether any dropped.
export function openLoopOf(run) {
  const stages = (run.suite && run.suite.open_loop) || [];
  return { stages, drops: stages.some((o) => o.on_full === 'drop') };
}

// stagesOf returns the open-loop stages of detail row g (a pooled row:
// every stage of its model).
function stagesOf(ol, g, pooled) {
  return ol.stages.filter((o) => o.model === g.model && (pooled || (o.scenario === g.scenario && (o.stage || '') === (g.stage || ''))));
}

export const droppedHead = () =>
  h('th', { title: 'arrivals not sent because --max-in-flight requests were in flight (--on-full drop); they are not requests: in neither the error rate nor the throughput' }, 'Dropped');

// droppedCell shows the arrivals row g dropped, of its arrivals.
export function droppedCell(ol, g, pooled) {
  const st = stagesOf(ol, g, pooled).filter((o) => o.on_full === 'drop');
  const dropped = st.reduce((n, o) => n + o.dropped, 0);
  const arrivals = st.reduce((n, o) => n + o.arrivals, 0);
  return h(
    'td',
    { class: 'num', dataset: { metric: 'dropped' }, title: st.length ? `${dropped} of ${arrivals} arrivals dropped` : 'no arrival was dropped' },
    h('span', { class: 'v' }, st.length ? count(dropped) : NA),
  );
}

// stopNotes are the lines of row g's warnings for stages the detector stopped.
export function stopNotes(ol, g, pooled) {
  return stagesOf(ol, g, pooled)
    .filter((o) => o.oversaturated)
    .map((o) => {
      const w = o.oversaturated;
      return `over-saturated: stopped after ${w.elapsed_s.toFixed(1)} s${pooled ? ` (${o.scenario}${o.stage ? ' ' + o.stage : ''})` : ''}: in flight grew ${w.in_flight_slope.toPrecision(3)}/s at ${w.rate.toPrecision(3)} arrivals/s, TTFT ${w.ttft_slope.toPrecision(3)} s/s`;
    });
}
