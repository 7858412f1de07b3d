// pages/dashboard.js: engines and their health, recent runs, and the best
// model per headline metric of the latest completed run, with the scenarios
// and configuration the figures come from.

import { get, seg } from '../api.js';
import { errorBox, h, note, replace, section } from '../dom.js';
import { NA, dateTime, engineName, runTitle } from '../format.js';
import { healthBadge, simBadge } from '../parts/badges.js';
import { bestCards } from '../parts/best.js';
import { runsTable } from '../parts/runs-table.js';

function engineCard(e) {
  return h(
    'div',
    { class: 'card engine', dataset: { engine: e.id } },
    h('h3', null, engineName(e), ' ', simBadge(e.simulated)),
    h('p', null, healthBadge(e), ' ', h('span', { class: 'note' }, [e.kind, e.version].filter(Boolean).join(' '))),
    h('p', { class: 'endpoint' }, e.endpoint || NA),
    e.error && !e.healthy ? h('p', { class: 'note warn' }, e.error) : null,
  );
}

export async function render(ctx) {
  const { root, signal } = ctx;
  const enginesBox = h('div', { class: 'cards' }, note('Looking for engines…'));
  const runsBox = h('div', null, note('Loading runs…'));
  const bestBox = h('div', null, note('Loading…'));
  const banner = h('div');
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Dashboard'), h('a', { class: 'button primary', href: '/benchmarks' }, 'New benchmark')),
    banner,
    section('Engines', enginesBox, h('p', null, h('a', { href: '/models' }, 'Models and engines →'))),
    section('Best model per metric (latest completed run)', bestBox),
    section('Recent runs', runsBox, h('p', null, h('a', { href: '/history' }, 'All runs and comparisons →'))),
  );

  const engines = get('/engines', { signal })
    .then((list) => {
      list = list || [];
      replace(enginesBox, list.length ? list.map(engineCard) : note('No engine found.'));
      if (!list.some((e) => e.healthy && !e.simulated)) {
        replace(
          banner,
          h(
            'div',
            { class: 'notice warn' },
            'No real engine is reachable: benchmarks will use the built-in SIMULATED engine, whose figures say nothing about a real model. Start Foundry Local, Ollama, llama.cpp, vLLM or LM Studio, or ',
            h('a', { href: '/models' }, 'add an endpoint'),
            '.',
          ),
        );
      }
    })
    .catch((e) => replace(enginesBox, errorBox(e, 'Engines')));

  const runs = get('/runs?limit=8', { signal })
    .then(async (list) => {
      list = list || [];
      replace(runsBox, list.length ? runsTable(list) : note('No runs yet. ', h('a', { href: '/benchmarks' }, 'Run a benchmark'), ' to see results here.'));
      const latest = list.find((r) => r.status === 'completed') || list.find((r) => r.status !== 'running');
      if (!latest) {
        replace(bestBox, note('No finished run yet.'));
        return;
      }
      let run, best;
      try {
        ({ run, best } = await get(`/runs/${seg(latest.id)}`, { signal }));
      } catch (e) {
        if (e.name !== 'AbortError') replace(bestBox, errorBox(e, 'Latest run'));
        return;
      }
      const link = h('a', { href: `/runs/${seg(run.id)}` }, 'open run');
      replace(
        bestBox,
        h('p', { class: 'note' }, 'From ', h('a', { href: `/runs/${seg(run.id)}` }, runTitle(run)), ' ', simBadge(run.engine && run.engine.simulated), ` (${dateTime(run.started)}).`),
        bestCards(run, best, link),
      );
    })
    .catch((e) => {
      if (e.name !== 'AbortError') replace(runsBox, errorBox(e, 'Runs'));
    });

  await Promise.allSettled([engines, runs]);
}
