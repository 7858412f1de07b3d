// pages/results.js: one run in full. Run picker, per-model cards, "best
// model for…" cards, comparison charts, latency distributions, the
// per-scenario table, resources over time and per stage, generated texts,
// configuration, engine and hardware, exports. Sets
// window.__flperfSummaryRendered (performance.now()) once the summary's
// charts and the table are drawn, and window.__flperfRendered once the
// distribution and resource charts are drawn too.

import { apiURL, get, seg, subscribe } from '../api.js';
import { errorBox, h, note, replace, section } from '../dom.js';
import { NA, count, dateTime, duration, ms, pct, runTitle, timeOf, tps } from '../format.js';
import { legacyBadge, simBadge, smallMark, statusBadge } from '../parts/badges.js';
import { bestCards } from '../parts/best.js';
import { modelLabel, smallN, stat } from '../parts/groups.js';
import { runCharts } from '../parts/run-charts.js';
import { runContextSweep } from '../parts/run-context.js';
import { runCurve } from '../parts/run-curve.js';
import { fetchDist, runDist } from '../parts/run-dist.js';
import { profileView } from '../parts/profile-view.js';
import { runInfo } from '../parts/run-info.js';
import { runResources } from '../parts/run-resources.js';
import { runEngineSeries } from '../parts/engine-series.js';
import { runSamples } from '../parts/run-samples.js';
import { detailTable } from '../parts/run-table.js';
import { hasTurns, turnsTable } from '../parts/run-turns.js';
import { hasPrefix, prefixTable } from '../parts/run-prefix.js';
import { legacyBlock } from '../parts/legacy.js';

function picker(ctx, listP, run) {
  const select = h('select', { id: 'run-picker', 'aria-label': 'Run' }, h('option', { value: run.id }, runTitle(run)));
  select.addEventListener('change', () => ctx.navigate(`/runs/${seg(select.value)}`));
  listP
    .then((list) => {
      const opts = (list || []).map((r) => h('option', { value: r.id, selected: r.id === run.id }, `${runTitle(r)} — ${r.status}`));
      if (!(list || []).some((r) => r.id === run.id)) opts.unshift(h('option', { value: run.id, selected: true }, runTitle(run)));
      replace(select, opts);
    })
    .catch(() => {});
  return select;
}

// originText says where a pushed or pulled run came from, as
// store.PushOrigin.Describe does for the terminal, with when it arrived.
function originText(o) {
  const when = o.at ? ` on ${dateTime(o.at)}` : '';
  if (o.via === 'pull') return `pulled from ${o.remote || '?'}${when}`;
  const by = o.user ? ` by ${o.user}` : '';
  return `pushed from ${o.host || o.remote || '?'}${by}${when}`;
}

function exports(id) {
  return h(
    'div',
    { class: 'exports' },
    ['json', 'csv', 'jsonl'].map((f) => h('a', { class: 'button', href: apiURL(`/runs/${seg(id)}/export?format=${f}`), download: `flperf-${id}.${f}` }, `Export ${f.toUpperCase()}`)),
    // One self-contained HTML file (flperf report --html): opens offline.
    h('a', { class: 'button', id: 'download-report', href: apiURL(`/runs/${seg(id)}/report.html`), download: `flperf-report-${id}.html` }, 'Download report'),
  );
}

function modelCard(g, engineModels) {
  const m = (engineModels || []).find((x) => x.id === g.model);
  const figure = (label, text, mark) => h('div', { class: 'fig' }, h('span', { class: 'fig-label' }, label), h('span', { class: 'fig-value' }, text, mark || null));
  const p95n = g.e2e_ms ? g.e2e_ms.n : 0;
  return h(
    'div',
    { class: 'card model', dataset: { model: g.model } },
    h('h3', { title: g.model }, modelLabel(g)),
    m ? h('p', { class: 'note' }, [m.alias, m.device, m.execution_provider].filter(Boolean).join(' · ') || NA) : null,
    h(
      'div',
      { class: 'figs' },
      figure('TTFT p50', ms(stat(g, 'ttft_ms', 'p50'))),
      figure('Decode p50', tps(stat(g, 'decode_tps', 'p50'))),
      figure('Output', g.ok > 0 ? tps(g.output_tokens_per_s) : NA),
      figure('E2E p95', ms(stat(g, 'e2e_ms', 'p95')), smallN('p95', p95n) && stat(g, 'e2e_ms', 'p95') != null ? smallMark('*', `from only ${p95n} samples`) : null),
      figure('Error rate', pct(g.error_rate)),
      figure('ok / requests', `${count(g.ok)} / ${count(g.requests)}`),
    ),
    g.requests > 0 && g.ok === 0 ? h('p', { class: 'note warn' }, 'every request failed: no latency or throughput figures') : null,
    g.short_responses ? h('p', { class: 'note' }, `${g.short_responses} short responses (stopped well before max_tokens): throughput is not comparable`) : null,
  );
}

// runLog shows the run's event log (stage changes, warnings), collapsed.
function runLog(log) {
  if (!log || !log.length) return null;
  return section(
    'Run log',
    h(
      'details',
      null,
      h('summary', null, `${log.length} entries`),
      h('ol', { class: 'log' }, log.map((l) => h('li', { class: `lvl-${l.level}` }, h('time', null, timeOf(l.time)), ' ', h('span', { class: 'lvl' }, l.level), ' ', l.message))),
    ),
  );
}

function liveBanner(ctx, run) {
  const bar = h('progress', { id: 'results-progress', max: 1 });
  const text = h('span', { class: 'note' }, 'waiting for progress…');
  const box = h('div', { class: 'notice live' }, h('strong', null, 'This run is in progress. '), bar, ' ', text, ' ', h('a', { href: '/benchmarks' }, 'live panel →'));
  const feed = subscribe(`/runs/${seg(run.id)}/events`, {
    progress: (p) => {
      if (p.total > 0) {
        bar.max = p.total;
        bar.value = p.done;
      }
      replace(text, `${count(p.done)} of ${p.total > 0 ? count(p.total) : '?'} requests · ETA ${duration(p.eta_ms)}`);
    },
    summary: () => ctx.navigate(location.pathname, { replace: true }),
  });
  ctx.onCleanup(() => feed.close());
  return box;
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const listP = get('/runs?limit=200', { signal });
  let id = params.id;
  if (!id) {
    const list = await listP;
    if (!list || !list.length) {
      replace(root, h('h1', null, 'Results'), note('No runs yet. ', h('a', { href: '/benchmarks' }, 'Run a benchmark'), ' first.'));
      return;
    }
    ctx.navigate(`/runs/${seg(list[0].id)}`, { replace: true });
    return;
  }
  replace(root, h('h1', null, 'Results'), note('Loading the run…'));
  // The run first: for a big run the server computes its summary once and
  // caches it; the distribution and the samples, asked for afterwards,
  // then reuse it instead of computing it three times at once.
  let doc;
  try {
    doc = await get(`/runs/${seg(id)}`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    replace(root, h('h1', null, 'Results'), errorBox(e, 'This run could not be loaded'), h('p', null, h('a', { href: '/history' }, 'All runs →')));
    return;
  }
  const run = doc.run;
  const distP = fetchDist(run.id, 'e2e_ms', signal);
  const samplesP = get(`/runs/${seg(run.id)}/samples?n=20`, { signal });
  distP.catch(() => {});
  samplesP.catch(() => {});
  if (run.id !== id) history.replaceState(null, '', `/runs/${seg(run.id)}${location.search}`);
  const hasData = (run.groups || []).length > 0;
  const charts = runCharts(run);
  const curve = hasData ? runCurve(doc.curve) : null; // a load sweep's throughput–latency curve
  const sweep = hasData ? runContextSweep(doc.context_sweep) : null; // a context sweep's figures against input tokens
  const dist = runDist(run.id, signal);
  const samplesBox = h('div', null, note('Loading texts…'));
  const resources = runResources(run, signal);
  const engineSeries = runEngineSeries(run, signal);
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Results'), picker(ctx, listP, run)),
    h(
      'div',
      { class: 'run-head' },
      h('h2', { class: 'run-title' }, runTitle(run)),
      h('p', null, statusBadge(run.status), ' ', simBadge(run.engine && run.engine.simulated), ' ', legacyBadge(!!run.legacy), ' ', h('span', { class: 'id' }, `run ${run.id}`), ' · ', dateTime(run.started)),
      doc.origin ? h('p', { class: 'note run-origin' }, originText(doc.origin)) : null,
      exports(run.id),
    ),
    run.status === 'running' ? liveBanner(ctx, run) : null,
    (run.warnings || []).length ? h('ul', { class: 'notice warn warnings' }, run.warnings.map((w) => h('li', null, w))) : null,
    hasData
      ? [
          run.config && run.config.profile ? section('Standard profile', profileView(run.config.profile)) : null,
          section('Models', h('div', { class: 'cards' }, (run.models || []).map((g) => modelCard(g, run.engine && run.engine.models)))),
          section('Best model for…', bestCards(run, doc.best)),
          section('Comparison', charts.el),
          curve ? section('Throughput against latency (load sweep)', curve.el) : null,
          sweep ? section('Against input length (context sweep)', sweep.el) : null,
          section('Distribution per model', dist.el),
          section('Per scenario', detailTable(run), note('* a p95 from fewer than 20 samples or a p99 from fewer than 100 is close to the maximum; hover for n.')),
          hasPrefix(run)
            ? section(
                `Prefix cache (a shared prefix of ${run.config.prefix_tokens} tokens)`,
                prefixTable(run),
                note('Cold: the nonce before the prefix, every request prefills it; warm: the prefix primed and shared. – where the engine reported no cache hit.'),
              )
            : null,
          hasTurns(run)
            ? section('Per conversation turn', turnsTable(run), note('Cached: the input tokens the engine said its prefix cache served; 0 where it reports none.'))
            : null,
        ]
      : run.legacy
        ? section('LEGACY figures of the original FLPerformance', legacyBlock(run.legacy))
        : note(run.status === 'running' ? 'No request has finished yet.' : 'This run has no measured requests.'),
    section('Resources during the run', resources.el),
    section('The engine\u2019s own view (queue and cache)', engineSeries.el),
    section('Generated text (sample of requests)', samplesBox),
    section('Configuration, engine and hardware', runInfo(run)),
    runLog(doc.log),
  );
  samplesP.then((s) => replace(samplesBox, runSamples(s))).catch((e) => e.name !== 'AbortError' && replace(samplesBox, errorBox(e, 'Texts')));
  const resourcesDone = resources.ready();
  resourcesDone.catch(() => {}); // awaited below; an abort must not be reported as unhandled meanwhile
  const engineDone = engineSeries.ready();
  engineDone.catch(() => {});
  if (hasData) {
    const distDone = dist.ready(distP);
    await charts.ready();
    if (curve) await curve.ready();
    if (sweep) await sweep.ready();
    if (!signal.aborted) window.__flperfSummaryRendered = performance.now(); // summary charts and table
    await distDone;
  }
  await resourcesDone;
  await engineDone;
  if (!signal.aborted) window.__flperfRendered = performance.now(); // everything, distribution, resources and the engine series included
}
