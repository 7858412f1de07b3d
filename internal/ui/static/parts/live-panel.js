// parts/live-panel.js: a running benchmark, live from its SSE feed:
// progress bar, ETA, running TTFT/TPOT/decode figures, a chart of recent
// requests, the run's log, and Cancel (first click: stop scheduling and let
// in-flight requests finish; second: cancel them too).

import { post, seg, subscribe } from '../api.js';
import { figure, lineChart } from '../charts.js';
import { errorBox, h, replace } from '../dom.js';
import { NA, count, duration, modelName, ms, num, runTitle, timeOf, tps } from '../format.js';
import { simBadge, statusBadge } from './badges.js';

const MAX_POINTS = 600;
const MAX_LOG = 400;

// livePanel shows run (a RunInfo, or {id}) live; call close() to stop.
export function livePanel(ctx, run) {
  const id = run.id;
  const status = h('span', { id: 'live-status' }, statusBadge('running'));
  const stage = h('p', { id: 'live-stage', class: 'note' }, 'waiting for the first request…');
  const bar = h('progress', { id: 'live-progress', max: 1, value: 0 });
  const counts = h('span', { id: 'live-counts', class: 'note' }, '');
  const fig = (label, key) => h('div', { class: 'fig' }, h('span', { class: 'fig-label' }, label), h('span', { class: 'fig-value', id: `live-${key}` }, NA));
  const figs = h('div', { class: 'figs' }, fig('TTFT p50', 'ttft'), fig('TPOT p50', 'tpot'), fig('Decode mean', 'decode'), fig('Output', 'output'), fig('Errors', 'errors'), fig('ETA', 'eta'));
  const log = h('ol', { id: 'live-log', class: 'log' });
  const msg = h('div', { class: 'live-msg' });
  const cancel = h('button', { id: 'live-cancel', type: 'button', class: 'danger' }, 'Cancel');
  const resultsLink = h('a', { id: 'live-results', class: 'button primary hidden', href: `/runs/${seg(id)}` }, 'Open results');
  const chartFig = figure('Recent requests (ok): TTFT and end-to-end latency', 'chart-live');
  const panel = h(
    'section',
    { class: 'block live-panel', dataset: { run: id } },
    h('div', { class: 'page-head' }, h('h2', null, 'Live: ', runTitle(run) === NA ? id : runTitle(run), ' ', simBadge(run.engine && run.engine.simulated)), status),
    stage,
    h('div', { class: 'progress-row' }, bar, counts),
    figs,
    h('div', { class: 'actions' }, cancel, resultsLink),
    msg,
    chartFig.fig,
    h('details', { open: true }, h('summary', null, 'Log'), log),
  );

  const ttft = [];
  const e2e = [];
  let n = 0;
  let chart = null;
  lineChart(chartFig.canvas, {
    series: [
      { label: 'TTFT', data: ttft, showLine: false },
      { label: 'end-to-end', data: e2e, showLine: false },
    ],
    xTitle: 'request (order of completion)',
    yTitle: 'latency (ms)',
    xUnit: '',
    yUnit: 'ms',
    points: true,
    xInteger: true,
  }).then((c) => {
    chart = c;
  });

  const set = (key, text) => {
    const el = panel.querySelector(`#live-${key}`);
    if (el) el.textContent = text;
  };
  let finished = false;
  const finish = (state) => {
    finished = true;
    cancel.disabled = true;
    cancel.classList.add('hidden');
    set('eta', NA);
    resultsLink.classList.remove('hidden');
    replace(status, statusBadge(state));
  };

  const feed = subscribe(`/runs/${seg(id)}/events`, {
    status: (s) => {
      replace(status, statusBadge(s.state));
      if (s.message) replace(msg, h('p', { class: 'note' }, s.message));
      if (s.state !== 'running') finish(s.state);
    },
    stage: (s) => {
      replace(stage, `model ${modelName(s.model)} · scenario “${s.scenario}” (stage ${s.index + 1} of ${s.count})`);
    },
    progress: (p) => {
      if (p.total > 0) {
        bar.max = p.total;
        bar.value = p.done;
      } else {
        bar.removeAttribute('value');
      }
      counts.textContent = `${count(p.done)} of ${p.total > 0 ? count(p.total) : '?'} requests${p.total > 0 ? ` (${num((100 * p.done) / p.total, 0)}\u00a0%)` : ''} · elapsed ${duration(p.elapsed_ms)}`;
      const r = p.running || {};
      set('ttft', ms(r.ttft_p50_ms));
      set('tpot', ms(r.tpot_p50_ms));
      set('decode', tps(r.decode_tps_mean));
      set('output', tps(r.output_tps));
      set('errors', count(p.errors));
      set('eta', duration(p.eta_ms));
      for (const x of p.recent || []) {
        n++;
        if (!x.ok) continue;
        if (x.ttft_ms != null) ttft.push({ x: n, y: x.ttft_ms });
        if (x.e2e_ms != null) e2e.push({ x: n, y: x.e2e_ms });
      }
      if (ttft.length > MAX_POINTS) ttft.splice(0, ttft.length - MAX_POINTS);
      if (e2e.length > MAX_POINTS) e2e.splice(0, e2e.length - MAX_POINTS);
      if (chart) chart.update('none');
    },
    log: (l) => {
      log.append(h('li', { class: `lvl-${l.level}` }, h('time', null, timeOf(l.time)), ' ', h('span', { class: 'lvl' }, l.level), ' ', l.message));
      while (log.childElementCount > MAX_LOG) log.firstElementChild.remove();
      log.scrollTop = log.scrollHeight;
    },
    summary: (s) => {
      const state = (s && s.run && s.run.status) || 'completed';
      finish(state);
      replace(msg, h('p', { class: 'notice ok' }, `Finished (${state}). `, h('a', { href: `/runs/${seg(id)}` }, 'See the results →')));
    },
    closed: (reason) => {
      if (!finished && reason === 'error') replace(msg, h('p', { class: 'notice warn' }, 'The live feed was lost. Reload the page to reattach.'));
    },
  });

  let stage2 = false;
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await post(`/runs/${seg(id)}/cancel${stage2 ? '?now=1' : ''}`);
      replace(msg, h('p', { class: 'note' }, stage2 ? 'Cancelling requests in flight…' : 'Stopping: no new requests; those in flight finish first.'));
      if (!stage2 && !finished) {
        stage2 = true;
        cancel.textContent = 'Stop now (cancel requests in flight)';
        cancel.disabled = false;
      }
    } catch (e) {
      replace(msg, errorBox(e, 'Cancel'));
      cancel.disabled = finished;
    }
  });

  ctx.onCleanup(() => feed.close());
  return { el: panel, close: () => feed.close() };
}
