// pages/history.js: every run, filtered by model, engine, suite and status;
// select two runs (or one run and two of its models) to compare them with
// GET /compare, the function `flperf compare` uses. The comparison's URL
// (/compare?base=…&candidate=…) is a deep link.

import { del, get, query, seg } from '../api.js';
import { errorBox, field, h, note, replace, section } from '../dom.js';
import { runTitle } from '../format.js';
import { compareView } from '../parts/compare-view.js';
import { runsTable } from '../parts/runs-table.js';

const STATUSES = ['', 'running', 'completed', 'interrupted', 'canceled', 'failed'];

export async function render(ctx) {
  const { root, signal, query: q } = ctx;
  const filters = {
    model: h('input', { name: 'model', type: 'text', placeholder: 'any', value: q.get('model') || '' }),
    engine: h('input', { name: 'engine', type: 'text', placeholder: 'any kind (ollama, sim, …)', value: q.get('engine') || '' }),
    suite: h('input', { name: 'suite', type: 'text', placeholder: 'any', value: q.get('suite') || '' }),
    status: h('select', { name: 'status' }, STATUSES.map((s) => h('option', { value: s, selected: s === (q.get('status') || '') }, s || 'any'))),
  };
  const tableBox = h('div', null, note('Loading runs…'));
  const compareBox = h('div', { id: 'compare' });
  const selected = new Set();
  let runs = [];
  const actions = h('div', { class: 'toolbar' });

  const drawActions = () => {
    const chosen = runs.filter((r) => selected.has(r.id));
    const parts = [h('span', { class: 'note' }, `${chosen.length} selected`)];
    if (chosen.length === 2) {
      const [a, b] = [...chosen].sort((x, y) => new Date(x.started) - new Date(y.started));
      parts.push(h('a', { class: 'button primary', id: 'compare-runs', href: `/compare${query({ base: a.id, candidate: b.id })}` }, 'Compare the two runs'));
    } else if (chosen.length === 1 && (chosen[0].models || []).length >= 2) {
      const r = chosen[0];
      const pick = (name, i) => h('select', { name }, r.models.map((m, j) => h('option', { value: m, selected: i === j }, m)));
      const baseSel = pick('base-model', 0);
      const candSel = pick('candidate-model', 1);
      const go = h('button', { type: 'button', class: 'primary' }, 'Compare the two models');
      go.addEventListener('click', () => ctx.navigate(`/compare${query({ base: `${r.id}@${baseSel.value}`, candidate: `${r.id}@${candSel.value}` })}`));
      parts.push(field('Base model', baseSel), field('Candidate model', candSel), go);
    } else {
      parts.push(h('span', { class: 'note' }, 'Select two runs to compare them (or one run to compare two of its models).'));
    }
    if (chosen.length) {
      const rm = h('button', { type: 'button', class: 'danger' }, `Delete ${chosen.length === 1 ? 'run' : `${chosen.length} runs`}`);
      rm.addEventListener('click', async () => {
        if (!window.confirm(`Delete ${chosen.map(runTitle).join('; ')}? Its records are removed from the database.`)) return;
        rm.disabled = true;
        for (const r of chosen) {
          try {
            await del(`/runs/${seg(r.id)}`);
            selected.delete(r.id);
          } catch (e) {
            actions.append(errorBox(e, `Delete ${runTitle(r)}`));
          }
        }
        await load();
      });
      parts.push(rm);
    }
    replace(actions, parts);
  };

  const load = async () => {
    const params = { model: filters.model.value.trim(), engine: filters.engine.value.trim(), suite: filters.suite.value.trim(), status: filters.status.value, limit: 500 };
    try {
      runs = (await get(`/runs${query(params)}`, { signal })) || [];
      replace(
        tableBox,
        runs.length
          ? runsTable(runs, {
              selected,
              onToggle: (id, on) => {
                if (on) selected.add(id);
                else selected.delete(id);
                drawActions();
              },
            })
          : note('No run matches.'),
      );
      drawActions();
    } catch (e) {
      if (e.name !== 'AbortError') replace(tableBox, errorBox(e, 'Runs'));
    }
  };

  const form = h('form', { class: 'filters form-grid' }, field('Model', filters.model), field('Engine', filters.engine), field('Suite', filters.suite), field('Status', filters.status), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const params = { model: filters.model.value.trim(), engine: filters.engine.value.trim(), suite: filters.suite.value.trim(), status: filters.status.value };
    history.replaceState(null, '', `/history${query(params)}`);
    load();
  });

  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'History and comparison')), compareBox, section('Runs', form, actions, tableBox));
  const base = q.get('base');
  const candidate = q.get('candidate');
  const tasks = [load()];
  if (base && candidate) tasks.push(compareView(compareBox, { base, candidate, metrics: q.getAll('metric'), alpha: q.get('alpha') }, signal));
  await Promise.all(tasks);
}
